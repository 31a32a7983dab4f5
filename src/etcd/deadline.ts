/**
 * Hard time limits and cancellation for promises we cannot cancel ourselves (an etcd3 call in flight).
 * The gRPC deadline normally fires first; these guarantee the caller is answered on time regardless.
 * @module
 */
import { AbortedError, DeadlineReachedError } from './classify.js';

/**
 * Settles with `promise`, or rejects with {@link DeadlineReachedError} after `ms`, or with
 * {@link AbortedError} when `signal` fires, whichever comes first. Timers are cleared on settle.
 */
export function raceDeadline<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(new AbortedError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => finish(() => reject(new AbortedError()));
    const timer = setTimeout(() => finish(() => reject(new DeadlineReachedError(ms))), ms);
    let done = false;
    function finish(settle: () => void): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}

/** Waits `ms`, or rejects with {@link AbortedError} as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return raceDeadline(new Promise<never>(() => undefined), ms, signal).catch((err: unknown) => {
    if (err instanceof DeadlineReachedError) return;
    throw err;
  });
}

/** Throws {@link AbortedError} if `signal` has fired. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError();
}
