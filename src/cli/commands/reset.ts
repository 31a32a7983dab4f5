/**
 * `etcd-kit reset`: tears the cluster down (stops etcd, deletes etcd-kit's files; `--purge` the data too).
 *
 * @module
 */
import type { Command } from 'commander';
import { EtcdKitError, loadClusterSpecFile, resetEtcdCluster } from '../../index.js';
import { table } from '../format.js';
import type { CliContext } from '../io.js';
import { withProgress } from '../with-progress.js';

/** Registers `reset` on `program`. */
export function registerReset(program: Command, { io }: CliContext): void {
  program
    .command('reset')
    .description("tear the cluster down: stop etcd and delete etcd-kit's files on every member (the PKI dir stays)")
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .option('--purge', "also delete every member's data dir: the cluster's data (take a snapshot first)")
    .option('--yes', 'required: confirms the teardown')
    .option('--json', 'machine-readable output')
    .action(async (opts: { file: string; purge?: boolean; yes?: boolean; json?: boolean }) => {
      if (!opts.yes) {
        throw new EtcdKitError('INVALID_ARGUMENT', `reset stops etcd on every member${opts.purge ? ' and deletes its data' : ''}: add --yes to confirm`, { field: 'yes' });
      }
      const spec = await loadClusterSpecFile(opts.file);
      const result = await withProgress(io, Boolean(opts.json), (progress) => resetEtcdCluster(spec, { removeData: Boolean(opts.purge), ...progress }));
      if (opts.json) {
        io.stdout(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const rows = result.members.map((m) => [m.name, m.host, m.wasRunning ? 'yes' : 'no', String(m.removedFiles.length), m.removedDirs.join(' ') || '-']);
      io.stdout(`${table(['MEMBER', 'HOST', 'WAS RUNNING', 'FILES REMOVED', 'DIRS REMOVED'], rows)}\n`);
    });
}
