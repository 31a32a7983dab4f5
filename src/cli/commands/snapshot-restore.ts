/**
 * `etcd-kit snapshot restore`: rebuilds every member from a snapshot as a new cluster.
 *
 * @module
 */
import { type Command, Option } from 'commander';
import { DEFAULT_HEALTH_TIMEOUT_MS, loadClusterSpecFile, restoreEtcdCluster } from '../../index.js';
import { formatRestore } from '../format.js';
import type { CliContext } from '../io.js';
import { withProgress } from '../with-progress.js';

type RestoreOptions = { file: string; from: string; replaceRunning?: boolean; bumpRevision?: number; markCompacted?: boolean; healthTimeout: number; json?: boolean };

/** Registers `restore` on the `snapshot` command. */
export function registerSnapshotRestore(snapshot: Command, { io }: CliContext): void {
  snapshot
    .command('restore')
    .description('rebuild every member from a snapshot: new cluster, old data dirs kept aside')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .requiredOption('--from <snapshot>', 'snapshot file (etcd-kit snapshot save, etcdctl snapshot save)')
    .option('--replace-running', 'restore over a running, healthy cluster: every key goes back to the snapshot')
    .addOption(new Option('--bump-revision <n>', 'raise the revision by n after the restore (watch clients never see it go back; needs --mark-compacted, etcd 3.5.10+)').argParser(Number))
    .option('--mark-compacted', 'mark the restored revision compacted (with --bump-revision)')
    .addOption(new Option('--health-timeout <ms>', 'longest wait for health, in ms').default(DEFAULT_HEALTH_TIMEOUT_MS).argParser(Number))
    .option('--json', 'machine-readable output (no progress view)')
    .action(async (opts: RestoreOptions) => {
      const spec = await loadClusterSpecFile(opts.file);
      const result = await withProgress(io, Boolean(opts.json), (progress) =>
        restoreEtcdCluster(spec, {
          snapshot: opts.from,
          replaceRunning: Boolean(opts.replaceRunning),
          ...(opts.bumpRevision !== undefined ? { bumpRevision: opts.bumpRevision } : {}),
          ...(opts.markCompacted ? { markCompacted: true } : {}),
          healthTimeoutMs: opts.healthTimeout,
          ...progress,
        }),
      );
      io.stdout(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatRestore('restored', result));
    });
}
