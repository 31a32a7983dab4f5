/**
 * `etcd-kit defrag`: defragments every member, one at a time, leader last; then disarms NOSPACE.
 *
 * @module
 */
import { type Command, Option } from 'commander';
import { type DefragmentProgress, defragmentCluster } from '../../index.js';
import { type AccessOptions, accessOptions, clusterAccess } from '../cluster-access.js';
import { formatBytes, table } from '../format.js';
import type { CliContext } from '../io.js';

/** Registers `defrag` on `program`. */
export function registerDefrag(program: Command, { io }: CliContext): void {
  accessOptions(program.command('defrag').description('defragment every member, one at a time, leader last; then disarm NOSPACE'))
    .option('--no-disarm', 'leave a NOSPACE alarm raised')
    .addOption(new Option('--timeout <ms>', 'longest defragmentation of one member, in ms').default(300_000).argParser(Number))
    .option('--json', 'machine-readable output')
    .action(async (opts: AccessOptions & { disarm: boolean; timeout: number; json?: boolean }) => {
      const { endpoints, tls } = await clusterAccess('defrag', opts);
      const result = await defragmentCluster({
        endpoints,
        tls,
        timeoutMs: opts.timeout,
        disarmNoSpace: opts.disarm,
        ...(opts.json ? {} : { onProgress: (e: DefragmentProgress) => io.stderr(`${e.memberName ?? e.endpoint}: ${e.step}\n`) }),
      });
      if (opts.json) {
        io.stdout(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const rows = result.members.map((m) => [m.memberName ?? '', m.endpoint, formatBytes(m.dbSizeBefore), formatBytes(m.dbSizeAfter), `${m.durationMs.toFixed(0)} ms`]);
      io.stdout(`${table(['MEMBER', 'ENDPOINT', 'DB BEFORE', 'DB AFTER', 'TOOK'], rows)}\n`);
      if (result.disarmed.length > 0) io.stdout(`disarmed: ${result.disarmed.map((a) => `${a.alarm} (${a.memberName ?? a.memberId})`).join(', ')}\n`);
    });
}
