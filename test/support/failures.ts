import { expect } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';

/** The error `promise` rejects with, asserted to be an instance of `type` (a resolved promise fails the assertion). */
export async function rejectionOf<E>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  const outcome = await promise.then(
    () => new Error('expected the call to fail'),
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(type);
  return outcome as E;
}

/** The AppError `promise` rejects with. */
export function appError(promise: Promise<unknown>): Promise<AppError> {
  return rejectionOf(promise, AppError);
}
