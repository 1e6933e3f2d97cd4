import type { Secret } from '../secret.ts';

/**
 * The on-premises directory as the bot needs it: look people up, and contain an account
 * (disable, enable, unlock, reset its password). Vendor-neutral: the LDAP adapter implements it
 * for Active Directory (and Samba AD), tests may fake it. Every method fails with an AppError
 * (DIRECTORY_*, INPUT_INVALID, TIMEOUT), never with a vendor error. In-memory implementation with
 * the adapter's semantics: sim/memory-directory.ts (the lab's simulated directory).
 */
export interface Directory {
  /**
   * People matching `query`: a sAMAccountName, DOMAIN\sam, a UPN or e-mail address, a SID
   * (S-1-5-...), or part of a display name (several results when ambiguous). At most `limit`
   * results (the adapter caps it further); [] when nothing matches.
   */
  findUsers(query: string, limit?: number): Promise<DirectoryUser[]>;
  /** The one user `ref` names; DIRECTORY_NO_SUCH_OBJECT when there is none. */
  getUser(ref: UserRef): Promise<DirectoryUser>;
  /** Sets the account-disabled flag, keeping every other flag. Idempotent. */
  disableAccount(ref: UserRef): Promise<DirectoryUser>;
  /** Clears the account-disabled flag, keeping every other flag. Idempotent. */
  enableAccount(ref: UserRef): Promise<DirectoryUser>;
  /** Clears a lockout (lockoutTime = 0). Idempotent. */
  unlockAccount(ref: UserRef): Promise<DirectoryUser>;
  /**
   * Replaces the password with a generated one meeting the domain's complexity rules and
   * returns it (to hand to the user over a separate channel); with `mustChangeAtNextLogon`
   * the user must pick a new one at next logon.
   */
  resetPassword(ref: UserRef, options: ResetPasswordOptions): Promise<Secret>;
  /** Resolves when the directory answers an authenticated request within the timeout. */
  ping(): Promise<void>;
  /**
   * When the password (unicodePwd) of `ref` was last written, by the directory's replication
   * metadata (whole seconds); null when the directory does not say. Optional: a directory
   * without it leaves a reset's read-back 'unknown'.
   */
  passwordWrittenAt?(ref: UserRef): Promise<Date | null>;
}

/**
 * How a caller names one user. Fields given must all match the same account. `dn` is meant for
 * a distinguished name the directory itself returned earlier (it must lie under the base DN).
 */
export interface UserRef {
  sid?: string;
  samAccountName?: string;
  userPrincipalName?: string;
  dn?: string;
}

export interface ResetPasswordOptions {
  mustChangeAtNextLogon: boolean;
}

/**
 * Groups whose members can take over the domain. Named by their well-known identity (RID or
 * builtin SID), so localized group names do not matter.
 */
export const PRIVILEGED_GROUPS = [
  'Domain Admins',
  'Enterprise Admins',
  'Schema Admins',
  'Administrators',
  'Account Operators',
  'Backup Operators',
  'Server Operators',
  'Print Operators',
  'Replicator',
  'Domain Controllers',
  'Read-only Domain Controllers',
  'Group Policy Creator Owners',
  'Key Admins',
  'Enterprise Key Admins',
] as const;
export type PrivilegedGroup = (typeof PRIVILEGED_GROUPS)[number];

export interface DirectoryUser {
  dn: string;
  /** S-1-5-21-... */
  sid: string;
  /** objectGUID in the usual dashed form. */
  objectGuid: string;
  samAccountName: string;
  userPrincipalName: string | null;
  displayName: string | null;
  mail: string | null;
  enabled: boolean;
  locked: boolean;
  /** When the password was last set (ISO 8601); null when never, or when a change is forced. */
  pwdLastSet: string | null;
  mustChangePassword: boolean;
  /** Most recent logon the directory knows of (ISO 8601), null when never. */
  lastLogon: string | null;
  /** DN of the container (OU) holding the account. */
  ou: string;
  /** Raw userAccountControl flags, for the audit. */
  userAccountControl: number;
  /** AD's marker for accounts that are (or were) protected members of privileged groups. */
  adminCount: number;
  /** Privileged groups the user belongs to, directly or through nesting. */
  privilegedGroups: PrivilegedGroup[];
  /** DNs of the groups the user is a direct member of. */
  memberOf: string[];
}

/** An account the bot must never contain without extra care (guard rail input). */
export function isPrivileged(user: DirectoryUser): boolean {
  return user.adminCount > 0 || user.privilegedGroups.length > 0;
}

/** userAccountControl flags that stop pwdLastSet=0 from forcing a password change (MS-SAMR, MS-ADTS). */
export const UF_DONT_EXPIRE_PASSWD = 0x10000;
export const UF_SMARTCARD_REQUIRED = 0x40000;

/**
 * Why "must change at next logon" will not be enforced on this account, in plain words; [] when
 * it will be. With DONT_EXPIRE_PASSWORD the password never expires, so pwdLastSet=0 does not
 * expire it; with SMARTCARD_REQUIRED the user logs on with a card and never types the password
 * (https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-adts/f9e9b7e2-c7ac-4db6-ba38-71d9696981e9,
 * msDS-User-Account-Control-Computed: UF_PASSWORD_EXPIRED is not set for these accounts).
 */
export function forcedChangeBlockers(userAccountControl: number): string[] {
  const reasons: string[] = [];
  if ((userAccountControl & UF_DONT_EXPIRE_PASSWD) !== 0) reasons.push('the account has "password never expires" set');
  if ((userAccountControl & UF_SMARTCARD_REQUIRED) !== 0) reasons.push('the account requires a smart card to log on');
  return reasons;
}
