/**
 * Times the testbed: root filesystem build (only with `--build`: a fresh debootstrap into a temporary
 * cache, ~1–2 min), 3 hosts up from the cache, exec round trip, SSH login, stop/start, destroy.
 *
 * ```sh
 * node --import tsx bench/testbed.ts [--build] [--rounds 3]
 * ```
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ensureRootfs, startTestbed } from '../test/testbed/index.js';
import { run } from '../test/testbed/run.js';

const { values } = parseArgs({ options: { build: { type: 'boolean' }, rounds: { type: 'string' } } });
const rounds = Number(values.rounds ?? 3);

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const r = await f();
  return [r, performance.now() - start];
}

const fmt = (ms: number[]): string => {
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms (min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)}, n=${ms.length})`;
};

if (values.build) {
  const cacheDir = mkdtempSync('/var/tmp/etcd-kit-testbed-bench-');
  try {
    const [, ms] = await timed(() => ensureRootfs({ cacheDir }));
    console.log(`rootfs build (debootstrap, uncached): ${(ms / 1000).toFixed(1)} s`);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
await ensureRootfs();

const up: number[] = [];
const down: number[] = [];
const exec: number[] = [];
const ssh: number[] = [];
const stop: number[] = [];
const kill: number[] = [];
const start: number[] = [];
for (let i = 0; i < rounds; i++) {
  const [tb, upMs] = await timed(() => startTestbed({ hosts: 3 }));
  up.push(upMs);
  for (let j = 0; j < 5; j++) exec.push((await timed(() => tb.exec(j % 3, 'true')))[1]);
  ssh.push((await timed(() => run(['ssh', ...tb.sshArgs(1), 'true'])))[1]);
  stop.push((await timed(() => tb.stopHost(2)))[1]);
  start.push((await timed(() => tb.startHost(2)))[1]);
  kill.push((await timed(() => tb.stopHost(2, { force: true })))[1]);
  start.push((await timed(() => tb.startHost(2)))[1]);
  down.push((await timed(() => tb.destroy()))[1]);
}
console.log(`3 hosts up (rootfs cached): ${fmt(up)}`);
console.log(`destroy (3 hosts):          ${fmt(down)}`);
console.log(`exec round trip:            ${fmt(exec)}`);
console.log(`ssh login + command:        ${fmt(ssh)}`);
console.log(`stopHost (clean shutdown):  ${fmt(stop)}`);
console.log(`stopHost (force):           ${fmt(kill)}`);
console.log(`startHost:                  ${fmt(start)}`);
