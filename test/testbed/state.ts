import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { TestbedLayout } from './layout.js';
import type { RunningMachine } from './machine.js';
import { isAlive, type ProcessId } from './owner.js';

/** What a testbed's state file records about one host. */
export interface HostState {
  /** 1-based host number. */
  n: number;
  /** `ssh-ed25519 AAAA...`. */
  hostKeyPublic: string;
  /** `SHA256:...`. */
  hostKeyFingerprint: string;
  /** Set while the host runs. */
  machine?: RunningMachine;
  /** True while the host's cable is pulled by disconnect(). */
  disconnected: boolean;
}

/** A testbed's state file (`/run/etcd-kit-testbed/<id>/state.json`): enough to reattach to or clean it up. */
export interface TestbedState {
  /** Testbed id. */
  id: number;
  /** The process that started it (its exit removes a non-persistent testbed). */
  owner: ProcessId;
  /** Outlives its owner until `destroy()` / `down` (once `ready`). */
  persistent: boolean;
  /** Every host booted once: a persistent testbed that never got here is a crashed start's leftover. */
  ready: boolean;
  /** Root filesystem the overlays read from. */
  rootfs: string;
  /** Client public key line in every user's authorized_keys. */
  clientPublicKey: string;
  /** Ms startHost waits for sshd (the testbed's `bootTimeoutMs`). */
  bootTimeoutMs: number;
  /** One entry per host, in order (empty while the testbed is being created). */
  hosts: HostState[];
}

/** Reads testbed state; undefined if there is none (or it is unreadable: a crash while claiming). */
export function readState(tb: TestbedLayout): TestbedState | undefined {
  try {
    return JSON.parse(readFileSync(tb.stateFile, 'utf8')) as TestbedState;
  } catch {
    return undefined;
  }
}

/** Writes testbed state atomically (temp file + rename). */
export function writeState(tb: TestbedLayout, state: TestbedState): void {
  const tmp = `${tb.stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, tb.stateFile);
}

/** A testbed is live while its owner process runs, or for good once a persistent one is ready; else it is a crashed run's. */
export function isLive(state: TestbedState | undefined): boolean {
  // `ready` absent: a state file written before the flag existed, by a start that completed.
  return !!state && ((state.persistent && state.ready !== false) || isAlive(state.owner));
}
