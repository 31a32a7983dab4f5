/**
 * `etcd-kit member remove <name>`: removes a member the spec no longer lists, cleans its host, updates the others.
 *
 * @module
 */
import type { Command } from 'commander';
import { loadClusterSpecFile, removeEtcdMember } from '../../index.js';
import { formatHealth } from '../format.js';
import type { CliContext } from '../io.js';
import { withProgress } from '../with-progress.js';

/** Registers `remove` on the `member` command. */
export function registerMemberRemove(member: Command, { io }: CliContext): void {
  member
    .command('remove <name>')
    .description('remove a member the spec no longer lists: member remove, clean its host, update the others (no restarts)')
    .requiredOption('-f, --file <spec>', 'cluster spec without the member (YAML or JSON)')
    .option('--host <host>', 'SSH host of the removed member (default: the address in its peer URL)')
    .option('--keep-data', "keep the removed member's data dir on its host")
    .option('--no-clean-host', 'the host is gone for good: change the membership only')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { file: string; host?: string; keepData?: boolean; cleanHost: boolean; json?: boolean }) => {
      const spec = await loadClusterSpecFile(opts.file);
      const result = await withProgress(io, Boolean(opts.json), (progress) =>
        removeEtcdMember(spec, name, {
          ...(opts.host ? { host: opts.host } : {}),
          ...(opts.keepData ? { keepData: true } : {}),
          cleanHost: opts.cleanHost,
          ...progress,
        }),
      );
      if (opts.json) {
        io.stdout(`${JSON.stringify({ removed: result.removed ?? null, hostCleanup: result.hostCleanup ?? null, members: result.deploy.members, health: result.deploy.health }, null, 2)}\n`);
        return;
      }
      io.stdout(result.removed ? `removed ${name} (member ${result.removed.id}) from the cluster\n` : `${name} is not a member of the cluster (nothing to remove)\n`);
      if (result.hostCleanup) {
        const c = result.hostCleanup;
        io.stdout(`${c.host}: ${c.wasRunning ? 'etcd stopped, ' : ''}${c.removedFiles.length} files and ${c.removedDirs.length} directories removed\n`);
      }
      if (result.deploy.health) io.stdout(`${formatHealth(result.deploy.health)}\n`);
    });
}
