import { randomInt } from 'node:crypto';

// Look-alike characters (I/l/1, O/0) are left out: the password may be read out over the phone.
// Quotes and backslashes are left out so it survives JSON, shells and chat cards unescaped.
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
const SYMBOLS = '!#%+-=?@_';
const ALL = UPPER + LOWER + DIGITS + SYMBOLS;

export interface PasswordOptions {
  /** 14 at least (AD's usual minimum is 7; modern policies ask for 14+). */
  length?: number;
  /**
   * Words that must not appear in the password (case-insensitive): AD refuses a password
   * containing the sAMAccountName or any 3+ character part of the display name.
   */
  avoid?: string[];
}

/**
 * A random password with at least one character of each class (AD complexity needs three of
 * four), drawn with a CSPRNG.
 */
export function generatePassword(options: PasswordOptions = {}): string {
  const length = Math.max(14, options.length ?? 24);
  const avoid = (options.avoid ?? [])
    .flatMap((word) => word.split(/[\s,.\-_#\t]+/))
    .map((token) => token.toLowerCase())
    .filter((token) => token.length >= 3);
  for (;;) {
    const chars = [pick(UPPER), pick(LOWER), pick(DIGITS), pick(SYMBOLS)];
    while (chars.length < length) chars.push(pick(ALL));
    for (let i = chars.length - 1; i > 0; i -= 1) {
      const j = randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
    }
    const password = chars.join('');
    const lower = password.toLowerCase();
    if (!avoid.some((token) => lower.includes(token))) return password;
  }
}

function pick(alphabet: string): string {
  return alphabet.charAt(randomInt(alphabet.length));
}
