/**
 * Shared assertion for the unit tests: `fn` must throw an UpdateError with `code`.
 * Returns the error so a test can look at its details.
 */
import { expect } from 'vitest';
import { type UpdateError, type UpdateErrorCode, isUpdateError } from '../../src/errors.js';

export function expectCode(fn: () => unknown, code: UpdateErrorCode): UpdateError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) expect.fail(`expected an UpdateError ${code}, but nothing was thrown`);
  if (!isUpdateError(thrown)) expect.fail(`expected an UpdateError ${code}, got ${String(thrown)}`);
  expect(thrown.code, thrown.message).toBe(code);
  return thrown;
}

/** As {@link expectCode}, for a promise that must reject. */
export async function expectRejectCode(promise: Promise<unknown>, code: UpdateErrorCode): Promise<UpdateError> {
  let thrown: unknown;
  try {
    await promise;
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) expect.fail(`expected an UpdateError ${code}, but the promise resolved`);
  if (!isUpdateError(thrown)) expect.fail(`expected an UpdateError ${code}, got ${String(thrown)}`);
  expect(thrown.code, thrown.message).toBe(code);
  return thrown;
}
