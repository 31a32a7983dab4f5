/**
 * The etcd-kit command line: a thin shell over the public API. Every command maps to one or two library
 * calls; the CLI adds argument parsing, output formatting and exit codes. Each command lives in its own
 * file under `commands/`; this module wires them into one program and maps errors to exit codes.
 *
 * @module
 */
import { Command, CommanderError } from 'commander';
import { EtcdKitError } from '../index.js';
import { registerDefrag } from './commands/defrag.js';
import { registerDeploy } from './commands/deploy.js';
import { registerHealth } from './commands/health.js';
import { registerInit } from './commands/init.js';
import { registerMemberRemove } from './commands/member-remove.js';
import { registerPkiCreate } from './commands/pki-create.js';
import { registerPkiInspect } from './commands/pki-inspect.js';
import { registerPkiRotateCa } from './commands/pki-rotate-ca.js';
import { registerPlan } from './commands/plan.js';
import { registerRecover } from './commands/recover.js';
import { registerReset } from './commands/reset.js';
import { registerSnapshotRestore } from './commands/snapshot-restore.js';
import { registerSnapshotSave } from './commands/snapshot-save.js';
import { EXIT } from './exit-codes.js';
import { type CliContext, type CliIo, defaultIo } from './io.js';
import { version } from './version.js';

export { EXIT } from './exit-codes.js';
export type { CliIo } from './io.js';

/** The program with every command registered, in the order `--help` lists them. */
function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const ctx: CliContext = { io, setExit };
  const program = new Command('etcd-kit')
    .description('Deploy and operate secure etcd clusters over SSH (mTLS everywhere, idempotent).')
    .version(version())
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showHelpAfterError();

  registerInit(program, ctx);
  registerPlan(program, ctx);
  registerDeploy(program, ctx);
  registerHealth(program, ctx);

  const snapshot = program.command('snapshot').description('backups of the key space');
  registerSnapshotSave(snapshot, ctx);
  registerSnapshotRestore(snapshot, ctx);

  registerRecover(program, ctx);
  registerDefrag(program, ctx);

  const member = program.command('member').description('membership changes');
  registerMemberRemove(member, ctx);

  registerReset(program, ctx);

  const pki = program.command('pki').description('the cluster PKI on this machine');
  registerPkiCreate(pki, ctx);
  registerPkiRotateCa(pki, ctx);
  registerPkiInspect(pki, ctx);
  return program;
}

const INVALID_INPUT: ReadonlySet<string> = new Set(['INVALID_SPEC', 'INVALID_ARGUMENT', 'VERSION_CHANGE_REFUSED', 'UNSAFE_CHANGE', 'CA_MISMATCH', 'CA_ROTATION_IN_PROGRESS', 'PKI_LOCKED', 'PKI_INVALID_INPUT', 'SNAPSHOT_INVALID', 'RENDER_INVALID_INPUT']);

/**
 * Exit code for an error: bad input (a refused version change or a PKI dir another operation holds
 * included: raised before any change) is 2, everything else 1.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof EtcdKitError && INVALID_INPUT.has(err.code)) return EXIT.invalid;
  return EXIT.failed;
}

/**
 * Runs the CLI with `argv` (as in `process.argv`) and resolves to the exit code. Never calls
 * `process.exit`, so it can be embedded and tested.
 */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    if (err instanceof EtcdKitError) {
      io.stderr(`error [${err.code}]${err.field ? ` at ${err.field}` : ''}: ${err.message}\n`);
    } else {
      io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    return exitCodeFor(err);
  }
}
