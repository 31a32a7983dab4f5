/**
 * `etcd-kit snapshot save`: one snapshot file, or a backup directory with checksums and retention (`--dir`, `--keep`).
 *
 * @module
 */
import { type Command, Option } from 'commander';
import { EtcdKitError, saveSnapshot, saveSnapshotToDir } from '../../index.js';
import { type AccessOptions, accessOptions, clusterAccess } from '../cluster-access.js';
import type { CliContext } from '../io.js';

type SaveOptions = AccessOptions & { output?: string; dir?: string; keep?: string; prefix?: string; timeout: number; json?: boolean };

/** `--keep` as a number; refuses `--keep`/`--prefix` without `--dir` and a count below 1. */
function keepCount(opts: SaveOptions): number | undefined {
  if (opts.dir === undefined && (opts.keep !== undefined || opts.prefix !== undefined)) {
    throw new EtcdKitError('INVALID_ARGUMENT', `${opts.keep !== undefined ? '--keep' : '--prefix'} needs --dir`, { field: opts.keep !== undefined ? 'keep' : 'prefix' });
  }
  const keep = opts.keep === undefined ? undefined : /^\d+$/.test(opts.keep) ? Number(opts.keep) : Number.NaN;
  if (keep !== undefined && !(Number.isInteger(keep) && keep >= 1)) {
    throw new EtcdKitError('INVALID_ARGUMENT', `--keep: must be an integer ≥ 1 (got ${opts.keep})`, { field: 'keep' });
  }
  return keep;
}

/** Registers `save` on the `snapshot` command. */
export function registerSnapshotSave(snapshot: Command, { io }: CliContext): void {
  accessOptions(snapshot.command('save').description('save a snapshot (etcdctl snapshot restore reads it), mode 0600'))
    .addOption(new Option('-o, --output <file>', 'snapshot file (default: etcd-snapshot-<cluster>-<UTC time>.db)').conflicts('dir'))
    .option('--dir <dir>', 'backup directory (created 0700): <prefix>-<UTC yyyymmddThhmmssZ>.db plus its .sha256 file')
    .option('--keep <n>', 'with --dir: keep the newest n snapshots of the prefix, delete older ones once the new one is complete')
    .option('--prefix <name>', 'with --dir: file name prefix (default: etcd-snapshot-<cluster>)')
    .addOption(new Option('--timeout <ms>', 'longest transfer from one member, in ms').default(300_000).argParser(Number))
    .option('--json', 'machine-readable output')
    .action(async (opts: SaveOptions) => {
      const keep = keepCount(opts);
      const { endpoints, tls, name } = await clusterAccess('snapshot save', opts);
      if (opts.dir !== undefined) {
        const prefix = opts.prefix ?? `etcd-snapshot-${name ?? 'cluster'}`;
        const snap = await saveSnapshotToDir({ endpoints, tls, dir: opts.dir, prefix, timeoutMs: opts.timeout, ...(keep === undefined ? {} : { keep }) });
        if (opts.json) {
          const skipped = snap.skipped.map((s) => ({ endpoint: s.endpoint, code: s.error.code, message: s.error.message }));
          io.stdout(`${JSON.stringify({ file: snap.path, ...snap, skipped }, null, 2)}\n`);
          return;
        }
        for (const s of snap.skipped) io.stderr(`skipped ${s.endpoint}: ${s.error.message}\n`);
        io.stdout(`saved ${snap.path} (${(snap.bytes / 1e6).toFixed(1)} MB from ${snap.endpoint}, ${snap.durationMs.toFixed(0)} ms)\nsha256 ${snap.sha256} (${snap.sha256File})\n`);
        for (const p of snap.pruned) io.stdout(`deleted ${p}\n`);
        return;
      }
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      const path = opts.output ?? `etcd-snapshot-${name ?? 'cluster'}-${stamp}.db`;
      const snap = await saveSnapshot({ endpoints, tls, path, timeoutMs: opts.timeout });
      if (opts.json) {
        const skipped = snap.skipped.map((s) => ({ endpoint: s.endpoint, code: s.error.code, message: s.error.message }));
        io.stdout(`${JSON.stringify({ ...snap, skipped }, null, 2)}\n`);
        return;
      }
      for (const s of snap.skipped) io.stderr(`skipped ${s.endpoint}: ${s.error.message}\n`);
      io.stdout(`saved ${snap.path} (${(snap.bytes / 1e6).toFixed(1)} MB from ${snap.endpoint}, ${snap.durationMs.toFixed(0)} ms)\nsha256 ${snap.sha256}\n`);
    });
}
