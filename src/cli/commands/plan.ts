/**
 * `etcd-kit plan`: what deploy would change, read-only.
 *
 * @module
 */
import type { Command } from 'commander';
import { loadClusterSpecFile, planEtcdCluster } from '../../index.js';
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
      const plan = await planEtcdCluster(spec);
      io.stdout(opts.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`);
      if (opts.exitCode && !plan.noChanges) setExit(EXIT.changesPending);
    });
}
