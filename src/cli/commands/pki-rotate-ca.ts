/**
 * `etcd-kit pki rotate-ca`: replaces the cluster CA on the running cluster, one member at a time (resumable).
 *
 * @module
 */
import { type Command, Option } from 'commander';
import { DEFAULT_HEALTH_TIMEOUT_MS, type KeyAlgorithm, loadClusterSpecFile, type RotateCaResult, rotateEtcdCa } from '../../index.js';
import { KEY_ALGORITHMS } from '../../pki-entry.js';
import { formatHealth, table } from '../format.js';
import type { CliContext, CliIo } from '../io.js';
import { withProgress } from '../with-progress.js';

type RotateOptions = { file: string; keyAlgorithm?: KeyAlgorithm; validityDays?: number; stopAfter?: 'trust-both' | 'new-leaves'; healthTimeout: number; json?: boolean };

function printRotation(io: CliIo, result: RotateCaResult): void {
  const rows = result.steps.map((s) => [s.phase, s.member, s.restarted ? 'yes' : 'no', `${(s.durationMs / 1000).toFixed(1)} s`]);
  if (rows.length > 0) io.stdout(`${table(['PHASE', 'MEMBER', 'RESTARTED', 'TOOK'], rows)}\n`);
  const took = `${(result.durationMs / 1000).toFixed(1)} s`;
  io.stdout(
    result.finished
      ? `CA rotated in ${took}: the new CA ${result.state.newCaFingerprint256} is ca.crt; the old one is kept in ${result.state.retiredDir}\n`
      : `CA rotation stopped in phase ${result.state.phase} after ${took}; run the same command again to continue\n`,
  );
  io.stdout(`${formatHealth(result.health)}\n`);
}

/** Registers `rotate-ca` on the `pki` command. */
export function registerPkiRotateCa(pki: Command, { io }: CliContext): void {
  pki
    .command('rotate-ca')
    .description('replace the cluster CA on the running cluster, one member at a time, without downtime (resumes one under way)')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .addOption(new Option('--key-algorithm <alg>', 'key algorithm of the new CA and its certificates (default: the current CA\'s)').choices([...KEY_ALGORITHMS]))
    .addOption(new Option('--validity-days <days>', 'lifetime of the new CA in days').argParser(Number))
    .addOption(new Option('--stop-after <phase>', 'stop once every member completed this phase (restart clients that read their CA once, then run again)').choices(['trust-both', 'new-leaves']))
    .addOption(new Option('--health-timeout <ms>', 'longest wait for health, in ms').default(DEFAULT_HEALTH_TIMEOUT_MS).argParser(Number))
    .option('--json', 'machine-readable output (no progress view)')
    .action(async (opts: RotateOptions) => {
      const spec = await loadClusterSpecFile(opts.file);
      const result = await withProgress(io, Boolean(opts.json), (progress) =>
        rotateEtcdCa(spec, {
          ...(opts.keyAlgorithm ? { keyAlgorithm: opts.keyAlgorithm as KeyAlgorithm } : {}),
          ...(opts.validityDays !== undefined ? { validityDays: opts.validityDays } : {}),
          ...(opts.stopAfter ? { stopAfter: opts.stopAfter } : {}),
          healthTimeoutMs: opts.healthTimeout,
          ...progress,
        }),
      );
      if (opts.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else printRotation(io, result);
    });
}
