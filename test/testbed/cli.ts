/**
 * Command line for the testbed, for people and the demo:
 *
 * ```sh
 * node --import tsx test/testbed/cli.ts up [--hosts 3] [--id N]   # start (or show) a persistent testbed
 * node --import tsx test/testbed/cli.ts status                    # every testbed on this machine
 * node --import tsx test/testbed/cli.ts down [--id N | --all]     # remove one (--all: every persistent + stale one)
 * ```
 * @module
 */
import { parseArgs } from 'node:util';
import { testbedLayout } from './layout.js';
import { isAlive } from './owner.js';
import { cleanupStaleTestbeds, knownIds, releaseId } from './registry.js';
import { isLive, readState } from './state.js';
import { attachTestbed, startTestbed, type Testbed } from './testbed.js';

const usage = 'usage: cli.ts up [--hosts N] [--id N] | status | down [--id N | --all]';

function printTestbed(tb: Testbed): void {
  const rows = tb.hosts.map((h) => `  ${h.name.padEnd(7)} ${h.ip.padEnd(15)} ${tb.isRunning(h.name) ? 'running' : 'stopped'}  ${h.hostKeyFingerprint}`);
  console.log(`testbed ${tb.id}  subnet ${tb.subnet}  (this machine: ${tb.gatewayIp})`);
  console.log(rows.join('\n'));
  console.log(`users: ${tb.users.root}, ${tb.users.sudo} (passwordless sudo), ${tb.users.nosudo} (no sudo); key ${tb.rootKeyPath}`);
  console.log(`known_hosts: ${tb.knownHostsPath}`);
  console.log(`try: ssh ${tb.sshArgs(0).join(' ')}`);
}

function persistentIds(): number[] {
  return knownIds().filter((id) => readState(testbedLayout(id))?.persistent);
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { hosts: { type: 'string' }, id: { type: 'string' }, all: { type: 'boolean' } },
  });
  const id = values.id === undefined ? undefined : Number(values.id);
  switch (positionals[0]) {
    case 'up': {
      const hosts = values.hosts === undefined ? undefined : Number(values.hosts);
      // Idempotent: an `up` matching a running persistent testbed shows it instead of starting another.
      const existing = (id === undefined ? persistentIds() : [id]).find((i) => {
        const state = readState(testbedLayout(i));
        return state?.persistent && isLive(state) && (hosts === undefined || state.hosts.length === hosts);
      });
      if (existing !== undefined) {
        console.log('already up:');
        printTestbed(await attachTestbed(existing));
        return;
      }
      const tb = await startTestbed({ hosts, id, persistent: true, onLog: (l) => console.error(l) });
      printTestbed(tb);
      return;
    }
    case 'status': {
      const ids = knownIds();
      if (ids.length === 0) console.log('no testbeds');
      for (const i of ids) {
        const state = readState(testbedLayout(i));
        if (!state || state.hosts.length === 0) {
          console.log(`testbed ${i}: leftovers of a crashed run (\`down\` removes them)`);
        } else if (!isLive(state)) {
          console.log(`testbed ${i}: owner process ${state.owner.pid} is gone (\`down\` removes it)`);
        } else {
          console.log(state.persistent ? '(persistent: CLI `down --id` removes it)' : `(owned by running process ${state.owner.pid})`);
          printTestbed(await attachTestbed(i));
        }
      }
      return;
    }
    case 'down': {
      if (id !== undefined) {
        const state = readState(testbedLayout(id));
        if (state && !state.persistent && isAlive(state.owner)) {
          throw new Error(`testbed ${id} belongs to running process ${state.owner.pid}; it goes away with it`);
        }
        await releaseId(id);
        console.log(`testbed ${id} removed`);
        return;
      }
      const persistent = persistentIds();
      if (!values.all && persistent.length > 1) {
        throw new Error(`several testbeds are up (${persistent.join(', ')}): pass --id N, or --all`);
      }
      const removed = await cleanupStaleTestbeds({ includePersistent: true });
      console.log(removed.length ? `removed testbed(s) ${removed.join(', ')}` : 'nothing to remove');
      return;
    }
    default:
      console.error(usage);
      process.exitCode = 2;
  }
}

main().catch((e: unknown) => {
  console.error(`testbed: ${(e as Error).message}`);
  process.exitCode = 1;
});
