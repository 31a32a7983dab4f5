import { expect } from 'vitest';
import { EtcdKitError } from '../../src/errors.js';

/** Asserts that `fn` throws RENDER_INVALID_INPUT naming exactly `field`, and returns the error for more checks. */
export function expectInvalid(fn: () => unknown, field: string): EtcdKitError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a RENDER_INVALID_INPUT error for ${field}`).toBeInstanceOf(EtcdKitError);
  const err = caught as EtcdKitError;
  expect(err.code).toBe('RENDER_INVALID_INPUT');
  expect(err.field).toBe(field);
  expect(err.message).toContain(field);
  return err;
}
