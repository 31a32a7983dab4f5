/**
 * The etcd-kit command line's entry point (the package's `bin`): runs {@link runCli} on `process.argv`.
 *
 * @module
 */
import { runCli } from './run.js';

// grpc-js sends the endpoint IP as TLS server name, which Node flags once per process (DEP0123). The
// certificate's IP SAN is still verified; the warning only confuses CLI users, so the CLI (not the
// library) drops exactly that one.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
  if (code === 'DEP0123') return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
