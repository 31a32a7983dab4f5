/**
 * `etcd-kit deploy`: creates or updates the cluster so it matches the spec (Ctrl-C aborts between steps).
 *
 * @module
 */
import { type Command, Option } from 'commander';
import { DEFAULT_HEALTH_TIMEOUT_MS, deployEtcdCluster, loadClusterSpecFile } from '../../index.js';
import { etcdctlHint } from '../etcdctl-hint.js';
import { formatHealth } from '../format.js';
import { formatPlan } from '../format-plan.js';
import type { CliContext } from '../io.js';
import { withProgress } from '../with-progress.js';

/** Registers `deploy` on `program`. */
export function registerDeploy(program: Command, { io }: CliContext): void {
  program
    .command('deploy')
    .description('create or update the cluster so it matches the spec')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .option('--json', 'machine-readable output (no progress view)')
    .option('--dry-run', 'plan only, change nothing')
    .addOption(new Option('--health-timeout <ms>', 'longest wait for health, in ms').default(DEFAULT_HEALTH_TIMEOUT_MS).argParser(Number))
    .action(async (opts: { file: string; json?: boolean; dryRun?: boolean; healthTimeout: number }) => {
      const spec = await loadClusterSpecFile(opts.file);
      for (const w of spec.warnings) io.stderr(`warning: ${w}\n`);
      const abort = new AbortController();
      const onSignal = () => abort.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      try {
        const result = await withProgress(io, Boolean(opts.json), (progress) =>
          deployEtcdCluster(spec, { dryRun: Boolean(opts.dryRun), healthTimeoutMs: opts.healthTimeout, signal: abort.signal, ...progress }),
        );
        if (opts.json) {
          io.stdout(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        if (opts.dryRun) {
          io.stdout(`${formatPlan(result.plan)}\n`);
          return;
        }
        io.stdout(`${result.changed ? 'deployed' : 'no changes'} in ${(result.durationMs / 1000).toFixed(1)} s, etcd ${result.etcdVersion}\n\n`);
        if (result.snapshot) io.stdout(`snapshot before the version change: ${result.snapshot.path} (${result.snapshot.bytes} bytes, sha256 ${result.snapshot.sha256})\n\n`);
        if (result.health) io.stdout(`${formatHealth(result.health)}\n\n`);
        io.stdout(`kube-apiserver flags:\n  ${result.kubeApiserverFlags.join(' \\\n  ')}\n\n`);
        io.stdout(`try:\n  ${etcdctlHint(result)}\n`);
      } finally {
        process.removeListener('SIGINT', onSignal);
      }
    });
}
