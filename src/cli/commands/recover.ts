/**
 * `etcd-kit recover`: after a lost quorum, rebuilds every member from the data of the one that survived.
 *
 * @module
 */
import { type Command, Option } from 'commander';
import { DEFAULT_BACKUP_DIR, DEFAULT_HEALTH_TIMEOUT_MS, loadClusterSpecFile, recoverEtcdCluster } from '../../index.js';
import { formatRestore } from '../format.js';
import type { CliContext } from '../io.js';
import { withProgress } from '../with-progress.js';

/** Registers `recover` on `program`. */
export function registerRecover(program: Command, { io }: CliContext): void {
  program
    .command('recover')
    .description('a lost quorum: rebuild every member from the data of the one that survived')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .requiredOption('--from <member>', 'the member whose data survived')
    .option('--backup-dir <dir>', 'where the survivor\'s data is kept on this machine', DEFAULT_BACKUP_DIR)
    .addOption(new Option('--health-timeout <ms>', 'longest wait for health, in ms').default(DEFAULT_HEALTH_TIMEOUT_MS).argParser(Number))
    .option('--json', 'machine-readable output (no progress view)')
    .action(async (opts: { file: string; from: string; backupDir: string; healthTimeout: number; json?: boolean }) => {
      const spec = await loadClusterSpecFile(opts.file);
      const result = await withProgress(io, Boolean(opts.json), (progress) =>
        recoverEtcdCluster(spec, { from: opts.from, backupDir: opts.backupDir, healthTimeoutMs: opts.healthTimeout, ...progress }),
      );
      io.stdout(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatRestore(`recovered from ${opts.from}`, result));
    });
}
