// The etcd-kit command line: a thin shell over the public API (filled in by the CLI work).
import { runCli } from './run.js';

runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
