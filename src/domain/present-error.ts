import { errorCode, isAppError, type AppError, type ErrorCode } from './errors.ts';

/**
 * The one place an error becomes the words a user sees, on a card and in a command alike. A code
 * below means "the AppError's sentence is meant for the person who asked" (a refusal, a lookup
 * that found nothing, a directory or cloud service saying no); anything else, including a raw
 * Error, is said as "Something went wrong (CODE)" and its details stay in the log.
 */
const SAID_AS_IS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['NOT_AUTHORIZED', 'INPUT_INVALID', 'NOT_FOUND', 'CONFLICT', 'ACTION_NOT_APPLICABLE', 'TIMEOUT']);

/** True when the error's own message is what the user is told (log it as a refusal, not a failure). */
export function isSaidAsIs(error: unknown): error is AppError {
  if (!isAppError(error)) return false;
  return SAID_AS_IS.has(error.code) || error.code.startsWith('DIRECTORY_') || error.code.startsWith('UPSTREAM_');
}

export function presentError(error: unknown): string {
  return isSaidAsIs(error) ? error.message : `Something went wrong (${errorCode(error)}); nothing was changed.`;
}
