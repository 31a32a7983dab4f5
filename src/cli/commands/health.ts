/**
 * `etcd-kit health`: every member over mTLS; the verdict is the exit code.
 *
 * @module
 */
import { type Command, Option } from 'commander';
import { checkHealth } from '../../index.js';
import { type AccessOptions, accessOptions, clusterAccess } from '../cluster-access.js';
import { EXIT } from '../exit-codes.js';
import { formatHealth } from '../format.js';
import type { CliContext } from '../io.js';

/** Registers `health` on `program`. */
export function registerHealth(program: Command, { io, setExit }: CliContext): void {
  accessOptions(
    program
      .command('health')
      .description('check every member over mTLS (linearizable read per endpoint)')
      .addHelpText(
        'after',
        `\nVerdict and exit code: healthy (every member answers) ${EXIT.ok}, degraded (quorum, but a member does not answer) ${EXIT.degraded}, unavailable (no quorum) ${EXIT.unavailable}.`,
      ),
  )
    .addOption(new Option('--timeout <ms>', 'per-endpoint budget in ms').default(2000).argParser(Number))
    // Deprecated: "every endpoint healthy" is what exit 0 means now; accepted so scripts keep working.
    .addOption(new Option('--all', 'deprecated, no effect: exit 0 needs every member healthy').hideHelp())
    .option('--json', 'machine-readable output')
    .action(async (opts: AccessOptions & { timeout: number; all?: boolean; json?: boolean }) => {
      const { endpoints, tls } = await clusterAccess('health', opts);
      const health = await checkHealth({ endpoints, tls, timeoutMs: opts.timeout });
      io.stdout(opts.json ? `${JSON.stringify(health, null, 2)}\n` : `${formatHealth(health)}\n`);
      if (health.verdict === 'degraded') setExit(EXIT.degraded);
      else if (health.verdict === 'unavailable') setExit(EXIT.unavailable);
    });
}
