/**
 * Runs a long operation with a progress view on stderr (live on a terminal, plain lines otherwise, none with --json).
 *
 * @module
 */
import type { CliIo } from './io.js';
import { liveProgress, plainProgress, type ProgressView } from './progress.js';

function progressView(io: CliIo, json: boolean): ProgressView | undefined {
  if (json) return undefined;
  return io.isTTY ? liveProgress(process.stderr) : plainProgress((line) => io.stderr(`${line}\n`));
}

/** Runs `fn` with the progress listener of a view (none with --json); the view is closed before results print. */
export async function withProgress<T>(io: CliIo, json: boolean, fn: (progress: { onProgress?: ProgressView['onProgress'] }) => Promise<T>): Promise<T> {
  const view = progressView(io, json);
  try {
    return await fn(view ? { onProgress: view.onProgress } : {});
  } finally {
    view?.close();
  }
}
