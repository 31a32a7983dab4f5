/**
 * `etcd-kit plan`: what deploy would change, read-only.
 *
 * @module
 */
import type { Command } from 'commander';
import { deployEtcdCluster, loadClusterSpecFile } from '../../index.js';
import { EXIT } from '../exit-codes.js';
import { formatPlan } from '../format-plan.js';
import type { CliContext } from '../io.js';

/** Registers `plan` on `program`. */
export function registerPlan(program: Command, { io, setExit }: CliContext): void {
  program
    .command('plan')
    .description('show what deploy would change (read-only)')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .option('--json', 'machine-readable output')
    .option('--exit-code', `exit ${EXIT.changesPending} when changes are pending`)
    .action(async (opts: { file: string; json?: boolean; exitCode?: boolean }) => {
      const spec = await loadClusterSpecFile(opts.file);
      const result = await deployEtcdCluster(spec, { dryRun: true });
      io.stdout(opts.json ? `${JSON.stringify(result.plan, null, 2)}\n` : `${formatPlan(result.plan)}\n`);
      if (opts.exitCode && !result.plan.noChanges) setExit(EXIT.changesPending);
    });
}
