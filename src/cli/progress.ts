/**
 * Renders deploy progress: a live per-member view on a TTY (redrawn in place), plain lines otherwise
 * (step changes only, so logs stay short and greppable).
 *
 * @module
 */
import type { DeployProgressEvent } from '../index.js';
import { formatBytes } from './format.js';

/** A progress sink with a final flush. */
export interface ProgressView {
  onProgress: (event: DeployProgressEvent) => void;
  close: () => void;
}

function describe(e: DeployProgressEvent): string {
  if (e.step === 'upload' && e.file) {
    const size = e.totalBytes ? ` ${formatBytes(e.bytes ?? 0)}/${formatBytes(e.totalBytes)}` : '';
    return `upload ${e.file}${size}`;
  }
  return e.message ? `${e.step}: ${e.message}` : e.step;
}

/** Plain, line-per-step output for pipes and CI logs. */
export function plainProgress(write: (line: string) => void): ProgressView {
  const last = new Map<string, string>();
  return {
    onProgress(e) {
      const who = e.member ?? 'cluster';
      // Byte counters would flood a log: print an upload once per file, every other step once per change.
      const key = e.step === 'upload' ? `upload ${e.file ?? ''}` : describe(e);
      if (last.get(who) === key) return;
      last.set(who, key);
      write(`${who.padEnd(10)} ${e.step === 'upload' && e.file ? `upload ${e.file}` : describe(e)}`);
    },
    close() {},
  };
}

/** A block of one line per member plus a cluster line, redrawn in place on a TTY. */
export function liveProgress(stream: NodeJS.WriteStream): ProgressView {
  const lines = new Map<string, string>();
  let drawn = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    timer = undefined;
    const width = stream.columns || 100;
    const out = [...lines].map(([who, text]) => `${who.padEnd(10)} ${text}`.slice(0, width - 1));
    stream.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}${out.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    drawn = out.length;
  };
  return {
    onProgress(e) {
      if (closed) return;
      lines.set(e.member ?? 'cluster', describe(e));
      timer ??= setTimeout(draw, 50);
    },
    // Idempotent: the final picture is drawn once; nothing is redrawn over what is printed after it.
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      if (lines.size > 0) draw();
    },
  };
}
