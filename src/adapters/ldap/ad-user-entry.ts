/** An AD user entry as ldapts returns it, read into a DirectoryUser: the attributes asked for and how each is read. */
import type { Entry } from 'ldapts';
import { forcedChangeBlockers, type DirectoryUser, type PrivilegedGroup } from '../../domain/ports/directory.ts';
import { guidToString, sidToString } from './ldap-filter.ts';

export const USER_FILTER = '(sAMAccountType=805306368)'; // normal user accounts: no computers, trusts or groups
export const USER_ATTRIBUTES = [
  'objectSid',
  'objectGUID',
  'sAMAccountName',
  'userPrincipalName',
  'displayName',
  'mail',
  'userAccountControl',
  'msDS-User-Account-Control-Computed',
  'lockoutTime',
  'pwdLastSet',
  'lastLogon',
  'lastLogonTimestamp',
  'adminCount',
  'primaryGroupID',
  'memberOf',
];
export const BINARY_ATTRIBUTES = ['objectSid', 'objectGUID'];

export const UF_ACCOUNTDISABLE = 0x2;
export const UF_LOCKOUT = 0x10;
export const UF_PASSWORD_EXPIRED = 0x800000;

export function toUser(entry: Entry, privilegedGroups: PrivilegedGroup[]): DirectoryUser {
  const uac = Number(text(entry, 'userAccountControl') ?? 0);
  const computedText = text(entry, 'msDS-User-Account-Control-Computed');
  const computed = computedText === undefined ? undefined : Number(computedText);
  const pwdLastSetRaw = text(entry, 'pwdLastSet');
  const sid = binary(entry, 'objectSid');
  const guid = binary(entry, 'objectGUID');
  const lockoutTime = fileTime(text(entry, 'lockoutTime'));
  const lastLogon = [fileTime(text(entry, 'lastLogon')), fileTime(text(entry, 'lastLogonTimestamp'))].filter((d): d is Date => d !== null);
  return {
    dn: entry.dn,
    sid: sid ? sidToString(sid) : '',
    objectGuid: guid ? guidToString(guid) : '',
    samAccountName: text(entry, 'sAMAccountName') ?? '',
    userPrincipalName: text(entry, 'userPrincipalName') ?? null,
    displayName: text(entry, 'displayName') ?? null,
    mail: text(entry, 'mail') ?? null,
    enabled: (uac & UF_ACCOUNTDISABLE) === 0,
    // The computed flag knows when a lockout has expired; lockoutTime alone stays set until the next logon.
    locked: computed === undefined ? lockoutTime !== null : (computed & UF_LOCKOUT) !== 0,
    pwdLastSet: fileTime(pwdLastSetRaw)?.toISOString() ?? null,
    // pwdLastSet=0 forces nothing on an account whose password never expires or that needs a smart card.
    mustChangePassword: (pwdLastSetRaw === '0' && forcedChangeBlockers(uac).length === 0) || (computed !== undefined && (computed & UF_PASSWORD_EXPIRED) !== 0),
    lastLogon: lastLogon.length === 0 ? null : new Date(Math.max(...lastLogon.map((d) => d.getTime()))).toISOString(),
    ou: parentDn(entry.dn),
    userAccountControl: uac,
    adminCount: Number(text(entry, 'adminCount') ?? 0),
    privilegedGroups,
    memberOf: texts(entry, 'memberOf'),
  };
}

export function value(entry: Entry, name: string): Entry[string] | undefined {
  if (name in entry) return entry[name];
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : entry[key];
}

export function texts(entry: Entry, name: string): string[] {
  const raw = value(entry, name);
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((item) => (Buffer.isBuffer(item) ? item.toString('utf8') : item));
}

export function text(entry: Entry, name: string): string | undefined {
  return texts(entry, name)[0];
}

export function buffers(entry: Entry | undefined, name: string): Buffer[] {
  if (!entry) return [];
  const raw = value(entry, name);
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).filter((item): item is Buffer => Buffer.isBuffer(item));
}

export function binary(entry: Entry, name: string): Buffer | undefined {
  const raw = value(entry, name);
  const first = Array.isArray(raw) ? raw[0] : raw;
  return Buffer.isBuffer(first) ? first : undefined;
}

/** AD FILETIME (100 ns since 1601) -> Date; 0 and "never" (int64 max) -> null. */
export function fileTime(raw: string | undefined): Date | null {
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  const ticks = BigInt(raw);
  if (ticks === 0n || ticks >= 0x7fffffffffffffffn) return null;
  return new Date(Number(ticks / 10_000n) - 11_644_473_600_000);
}

/** The DN without its first RDN, respecting escaped commas (CN=Doe\, Jane,OU=Staff,...). */
export function parentDn(dn: string): string {
  for (let i = 0; i < dn.length; i += 1) {
    if (dn[i] === '\\') i += 1;
    else if (dn[i] === ',') return dn.slice(i + 1);
  }
  return '';
}
