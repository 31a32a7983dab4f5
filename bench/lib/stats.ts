// Small helpers every bench prints with: a median, a sleep, the load average, seconds from ms.
import { loadavg } from 'node:os';

/** Median of `values`; NaN for none. */
export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? Number.NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The 1, 5 and 15 minute load averages, `1.2 3.5 4.2`. */
export const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** `ms` as seconds with `digits` decimals; `-` for none. */
export const s = (ms: number | undefined, digits = 1): string => (ms === undefined || Number.isNaN(ms) ? '-' : (ms / 1000).toFixed(digits));
