/**
 * Short codes analysts read on a card and type back (`approve K7M2QX`): six characters from an
 * alphabet without look-alikes (no 0/O, 1/I/L, U/V), about 5.9e8 combinations. Uniqueness is the
 * database's job (unique index); callers retry on a collision.
 */
import { randomInt } from 'node:crypto';

export const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTWXYZ';
export const CODE_LENGTH = 6;

export function generateReferenceCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i += 1) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/**
 * Approval codes are one character longer than alert reference codes: the two namespaces can
 * never collide, and a typed code names exactly one kind of thing by its length alone.
 */
export const APPROVAL_CODE_LENGTH = CODE_LENGTH + 1;

export function generateApprovalCode(): string {
  let code = '';
  for (let i = 0; i < APPROVAL_CODE_LENGTH; i += 1) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** Whether a typed code has the shape of an approval code (else it is an alert reference). */
export function isApprovalCodeShape(input: string): boolean {
  return normalizeReferenceCode(input).length === APPROVAL_CODE_LENGTH;
}

/** Upper-cases and drops spaces/dashes, so `k7m-2qx` finds `K7M2QX`. */
export function normalizeReferenceCode(input: string): string {
  return input.replace(/[\s-]/g, '').toUpperCase();
}
