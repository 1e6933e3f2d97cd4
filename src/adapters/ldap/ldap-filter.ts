import { AppError } from '../../domain/errors.ts';

/** Longest query the bot sends to the directory; longer input is refused, not truncated. */
export const MAX_QUERY_LENGTH = 256;

/**
 * RFC 4515 escaping of an assertion value: the filter metacharacters `*`, `(`, `)`, `\` and NUL
 * become `\xx`, so user input can only ever be a literal value, never filter syntax.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (char) => `\\${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Trims and checks free-text input from chat or alerts before it reaches a filter. */
export function validateQuery(query: string): string {
  const trimmed = typeof query === 'string' ? query.trim() : '';
  if (trimmed.length === 0) throw new AppError('INPUT_INVALID', 'The search text is empty.');
  if (trimmed.length > MAX_QUERY_LENGTH) {
    throw new AppError('INPUT_INVALID', `The search text is longer than ${MAX_QUERY_LENGTH} characters.`, {
      details: { length: trimmed.length },
    });
  }
  // Control characters never occur in names; refusing them keeps logs and filters clean.
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new AppError('INPUT_INVALID', 'The search text contains control characters.');
  return trimmed;
}

/**
 * Checks a distinguished name the directory returned earlier. No length cap of ours: AD bounds a
 * DN only through its RDNs (CN up to 64 characters each, nesting by OU depth), and a cap here
 * refused legitimate deep DNs, even the read-back after a change made by that very DN.
 */
export function validateDn(dn: string): string {
  const trimmed = typeof dn === 'string' ? dn.trim() : '';
  if (trimmed.length === 0) throw new AppError('INPUT_INVALID', 'The distinguished name is empty.');
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new AppError('INPUT_INVALID', 'The distinguished name contains control characters.');
  return trimmed;
}

const SID_PATTERN = /^S-1-(\d{1,15})((?:-\d{1,10}){1,15})$/i;

export function isSidString(value: string): boolean {
  return SID_PATTERN.test(value);
}

/** S-1-5-21-a-b-c-rid -> the binary form AD stores (revision, count, authority BE, sub-authorities LE). */
export function sidToBuffer(sid: string): Buffer {
  const match = SID_PATTERN.exec(sid);
  if (!match) throw new AppError('INPUT_INVALID', 'The value is not a security identifier (S-1-...).');
  const authority = BigInt(match[1] as string);
  const subs = (match[2] as string).slice(1).split('-').map(Number);
  if (authority > 0xffffffffffffn || subs.some((sub) => sub > 0xffffffff)) {
    throw new AppError('INPUT_INVALID', 'The security identifier is out of range.');
  }
  const buffer = Buffer.alloc(8 + 4 * subs.length);
  buffer.writeUInt8(1, 0);
  buffer.writeUInt8(subs.length, 1);
  buffer.writeUIntBE(Number(authority), 2, 6);
  subs.forEach((sub, index) => buffer.writeUInt32LE(sub, 8 + 4 * index));
  return buffer;
}

/**
 * `(objectSid=S-1-5-...)`: AD (2003+) and Samba accept the string form. The binary `\xx` form
 * does not survive ldapts, whose filter parser decodes escapes as UTF-8 and mangles bytes >= 0x80.
 */
export function sidFilter(sid: string): string {
  sidToBuffer(sid); // validates shape and ranges
  return `(objectSid=${sid.toUpperCase()})`;
}

export function sidToString(buffer: Buffer): string {
  if (buffer.length < 8) throw new AppError('INTERNAL', 'The directory returned a malformed security identifier.');
  const count = buffer.readUInt8(1);
  if (buffer.length < 8 + 4 * count) throw new AppError('INTERNAL', 'The directory returned a malformed security identifier.');
  const parts = [`S-${buffer.readUInt8(0)}`, String(buffer.readUIntBE(2, 6))];
  for (let i = 0; i < count; i += 1) parts.push(String(buffer.readUInt32LE(8 + 4 * i)));
  return parts.join('-');
}

/** objectGUID bytes (first three fields little-endian) -> 8-4-4-4-12 string. */
export function guidToString(buffer: Buffer): string {
  if (buffer.length !== 16) throw new AppError('INTERNAL', 'The directory returned a malformed GUID.');
  const hex = (bytes: number[]) => bytes.map((i) => (buffer[i] as number).toString(16).padStart(2, '0')).join('');
  return [hex([3, 2, 1, 0]), hex([5, 4]), hex([7, 6]), hex([8, 9]), hex([10, 11, 12, 13, 14, 15])].join('-');
}

/** The filter part for one `findUsers` query, chosen by the query's shape. */
export function findUsersFilter(query: string, netbiosDomain?: string): string | null {
  const q = validateQuery(query);
  if (isSidString(q)) return sidFilter(q);
  const backslash = q.indexOf('\\');
  if (backslash > 0) {
    // DOMAIN\sam: another domain's account is simply not here.
    const domain = q.slice(0, backslash);
    const sam = q.slice(backslash + 1);
    if (netbiosDomain && domain.toLowerCase() !== netbiosDomain.toLowerCase()) return null;
    if (sam.length === 0) return null;
    return `(sAMAccountName=${escapeFilterValue(sam)})`;
  }
  const value = escapeFilterValue(q);
  if (q.includes('@')) return `(|(userPrincipalName=${value})(mail=${value})(proxyAddresses=smtp:${value}))`;
  return `(|(sAMAccountName=${value})(userPrincipalName=${value})(displayName=*${value}*)(cn=*${value}*))`;
}
