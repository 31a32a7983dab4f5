/**
 * Where the CLI writes, and what every command is registered with.
 *
 * @module
 */

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal (live progress view). */
  isTTY: boolean;
}

/** What a command's registration gets: the output streams, and how to set the exit code of a run that succeeded. */
export interface CliContext {
  io: CliIo;
  /** Sets the exit code the run ends with when no error is thrown (verdicts such as `degraded`). */
  setExit: (code: number) => void;
}

/** The process's own streams. */
export const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
};
