import { expect } from 'vitest';
import { EtcdKitError } from '../../src/errors.js';

/** Awaits `promise`, expects it to reject with an EtcdKitError, and returns that error. */
export async function rejection(promise: Promise<unknown>): Promise<EtcdKitError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EtcdKitError);
  return err as EtcdKitError;
}
