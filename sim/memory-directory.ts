import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { findUsersFilter, isSidString, sidFilter, validateQuery } from '../src/adapters/ldap/ldap-filter.ts';
import { generatePassword } from '../src/adapters/ldap/password-generator.ts';
import type { Directory, DirectoryUser, ResetPasswordOptions, UserRef } from '../src/domain/ports/directory.ts';
import { AppError } from '../src/domain/errors.ts';
import { Secret, type Logger } from '../src/observability/logger.ts';

/**
 * The lab's simulated on-premises directory: the Directory port held in memory, for machines
 * that cannot run a Samba AD DC. Same semantics and errors as the LDAP adapter
 * (src/adapters/ldap/ldap-directory.ts): the same query shapes and input checks (it reuses the
 * adapter's validation), INPUT_INVALID / CONFLICT / DIRECTORY_NO_SUCH_OBJECT as it raises them,
 * idempotent account-control changes that keep every other flag, a generated password that
 * avoids the account's names. It lives in the bot process (lab/bot-entry.ts); every change is
 * written back to the lab's directory file so the lab can read the result.
 */

const UF_ACCOUNTDISABLE = 0x2;
const UF_LOCKOUT = 0x10;

/** What the lab writes for the bot (and the bot writes back after each change). */
export interface DirectoryFile {
  version: 1;
  /** DC=corp,DC=example,DC=test: DNs given by callers must lie under it. */
  baseDn: string;
  /** CORP */
  netbiosDomain: string;
  users: DirectoryUser[];
}

export interface MemoryDirectoryOptions {
  users: readonly DirectoryUser[];
  baseDn: string;
  netbiosDomain: string;
  /** Cap on findUsers results whatever the caller asks (default 25, as the LDAP adapter). */
  maxResults?: number;
  /** Called after every change with the whole directory (to persist it). */
  onChange?: (users: DirectoryUser[]) => void;
  generatePassword?: (avoid: string[]) => string;
  logger?: Logger;
  /** Clock for pwdLastSet. */
  now?: () => Date;
}

export interface MemoryDirectory extends Directory {
  /** Copies of every account, in directory order. */
  snapshot(): DirectoryUser[];
  /** false: every call fails with DIRECTORY_UNAVAILABLE, as when the DC is down. */
  setAvailable(available: boolean): void;
}

export function createMemoryDirectory(options: MemoryDirectoryOptions): MemoryDirectory {
  const users: DirectoryUser[] = options.users.map((u) => structuredClone(u));
  const baseDn = options.baseDn;
  const netbiosDomain = options.netbiosDomain;
  const maxResults = Math.max(1, options.maxResults ?? 25);
  const makePassword = options.generatePassword ?? ((avoid: string[]) => generatePassword({ length: 24, avoid }));
  const now = options.now ?? (() => new Date());
  const log = options.logger?.child({ component: 'memory-directory' });
  let available = true;
  for (const user of users) {
    if (!isUnder(user.dn, baseDn)) throw new Error(`memory directory: ${user.dn} is not under ${baseDn}`);
  }

  const copy = (user: DirectoryUser): DirectoryUser => structuredClone(user);
  const changed = () => options.onChange?.(users.map(copy));

  function reachable(operation: string): void {
    if (!available) throw new AppError('DIRECTORY_UNAVAILABLE', 'The directory cannot be reached.', { details: { operation, phase: 'connect' } });
  }

  /** The same checks, in the same order, as the LDAP adapter's refFilter. */
  function checkRef(ref: UserRef): void {
    if (ref.sid !== undefined) {
      if (!isSidString(ref.sid)) throw new AppError('INPUT_INVALID', 'The account reference has a malformed SID.');
      sidFilter(ref.sid); // out-of-range parts: INPUT_INVALID, as the adapter
    }
    if (ref.samAccountName !== undefined) validateQuery(ref.samAccountName);
    if (ref.userPrincipalName !== undefined) validateQuery(ref.userPrincipalName);
    if (ref.sid === undefined && ref.samAccountName === undefined && ref.userPrincipalName === undefined && ref.dn === undefined) {
      throw new AppError('INPUT_INVALID', 'The account reference names no account.');
    }
  }

  /** The live entry `ref` names (every field given must match it). */
  function resolve(ref: UserRef): DirectoryUser {
    checkRef(ref);
    let dn: string | undefined;
    if (ref.dn !== undefined) {
      dn = validateQuery(ref.dn);
      if (!isUnder(dn, baseDn)) throw new AppError('INPUT_INVALID', 'The account is outside the directory base the bot works in.');
    }
    const sam = ref.samAccountName?.trim();
    const upn = ref.userPrincipalName?.trim();
    const matches = users.filter(
      (u) =>
        (ref.sid === undefined || same(u.sid, ref.sid)) &&
        (sam === undefined || same(u.samAccountName, sam)) &&
        (upn === undefined || (u.userPrincipalName !== null && same(u.userPrincipalName, upn))) &&
        (dn === undefined || normDn(u.dn) === normDn(dn)),
    );
    if (matches.length > 1) throw new AppError('CONFLICT', 'The account reference matches more than one account.', { details: { ref: describeRef(ref) } });
    const user = matches[0];
    if (!user) throw new AppError('DIRECTORY_NO_SUCH_OBJECT', 'No account in the directory matches the reference.', { details: { ref: describeRef(ref) } });
    return user;
  }

  async function setAccountControl(operation: string, ref: UserRef, change: (uac: number) => number): Promise<DirectoryUser> {
    checkRef(ref);
    reachable(operation);
    const user = resolve(ref);
    const next = change(user.userAccountControl);
    if (next === user.userAccountControl) {
      log?.info({ operation, dn: user.dn, userAccountControl: next }, 'account already in the wanted state');
      return copy(user);
    }
    log?.info({ operation, dn: user.dn, from: user.userAccountControl, to: next }, 'account control changed');
    user.userAccountControl = next;
    user.enabled = (next & UF_ACCOUNTDISABLE) === 0;
    changed();
    return copy(user);
  }

  return {
    async findUsers(query, limit = 10) {
      const filter = findUsersFilter(query, netbiosDomain); // validates; null: nothing can match
      if (filter === null) return [];
      reachable('findUsers');
      const size = Math.min(Math.max(1, Math.floor(limit)), maxResults);
      const q = validateQuery(query);
      let match: (u: DirectoryUser) => boolean;
      if (isSidString(q)) match = (u) => same(u.sid, q);
      else if (q.indexOf('\\') > 0) {
        const sam = q.slice(q.indexOf('\\') + 1);
        match = (u) => same(u.samAccountName, sam);
      } else if (q.includes('@')) match = (u) => (u.userPrincipalName !== null && same(u.userPrincipalName, q)) || (u.mail !== null && same(u.mail, q));
      else {
        const part = q.toLowerCase();
        match = (u) =>
          same(u.samAccountName, q) ||
          (u.userPrincipalName !== null && same(u.userPrincipalName, q)) ||
          (u.displayName ?? '').toLowerCase().includes(part) ||
          commonName(u.dn).toLowerCase().includes(part);
      }
      return users.filter(match).slice(0, size).map(copy);
    },
    async getUser(ref) {
      checkRef(ref);
      reachable('getUser');
      return copy(resolve(ref));
    },
    async disableAccount(ref) {
      return setAccountControl('disableAccount', ref, (uac) => uac | UF_ACCOUNTDISABLE);
    },
    async enableAccount(ref) {
      return setAccountControl('enableAccount', ref, (uac) => uac & ~UF_ACCOUNTDISABLE);
    },
    async unlockAccount(ref) {
      checkRef(ref);
      reachable('unlockAccount');
      const user = resolve(ref);
      if (!user.locked) return copy(user);
      user.locked = false;
      user.userAccountControl &= ~UF_LOCKOUT;
      log?.info({ operation: 'unlockAccount', dn: user.dn }, 'account unlocked');
      changed();
      return copy(user);
    },
    async resetPassword(ref: UserRef, reset: ResetPasswordOptions) {
      checkRef(ref);
      reachable('resetPassword');
      const user = resolve(ref);
      const password = new Secret(makePassword([user.samAccountName, user.displayName ?? '']));
      // As AD reads back: pwdLastSet=0 (no date, must change) or the time of the change.
      user.pwdLastSet = reset.mustChangeAtNextLogon ? null : now().toISOString();
      user.mustChangePassword = reset.mustChangeAtNextLogon;
      log?.info({ operation: 'resetPassword', dn: user.dn, mustChangeAtNextLogon: reset.mustChangeAtNextLogon }, 'password reset');
      changed();
      return password;
    },
    async ping() {
      reachable('ping');
    },
    snapshot: () => users.map(copy),
    setAvailable(value) {
      available = value;
    },
  };
}

/** The lab writes the seed, the bot rewrites it after each change: write-then-rename, never half a file. */
export function writeDirectoryFile(path: string, contents: DirectoryFile): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(contents, null, 2)}\n`);
  renameSync(temp, path);
}

export function readDirectoryFile(path: string): DirectoryFile {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<DirectoryFile>;
  if (parsed.version !== 1 || typeof parsed.baseDn !== 'string' || typeof parsed.netbiosDomain !== 'string' || !Array.isArray(parsed.users)) {
    throw new Error(`${path}: not a lab directory file (version 1 with baseDn, netbiosDomain, users)`);
  }
  return parsed as DirectoryFile;
}

/**
 * The lab's own view of the directory the bot process holds: reads the file the bot writes
 * back, so a test sees what the bot did. Read-only: a change made here would never reach the
 * bot, so changes are refused (DIRECTORY_RIGHTS) rather than silently lost.
 */
export function createDirectoryFileView(path: string): Directory {
  const current = () => {
    const file = readDirectoryFile(path);
    return createMemoryDirectory({ users: file.users, baseDn: file.baseDn, netbiosDomain: file.netbiosDomain });
  };
  const readOnly = async (): Promise<never> => {
    throw new AppError('DIRECTORY_RIGHTS', "The lab's view of the simulated directory is read-only: the bot process owns it.");
  };
  return {
    findUsers: (query, limit) => current().findUsers(query, limit),
    getUser: (ref) => current().getUser(ref),
    disableAccount: readOnly,
    enableAccount: readOnly,
    unlockAccount: readOnly,
    resetPassword: readOnly,
    ping: async () => {
      readDirectoryFile(path);
    },
  };
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function normDn(dn: string): string {
  return dn.replace(/,\s+/g, ',').toLowerCase();
}

function isUnder(dn: string, base: string): boolean {
  const d = normDn(dn);
  const b = normDn(base);
  return d === b || d.endsWith(`,${b}`);
}

/** The value of the first RDN (CN=Doe\, Jane,OU=... -> Doe, Jane). */
function commonName(dn: string): string {
  let value = '';
  for (let i = dn.indexOf('=') + 1; i < dn.length; i += 1) {
    const char = dn[i] as string;
    if (char === '\\') {
      i += 1;
      value += dn[i] ?? '';
    } else if (char === ',') break;
    else value += char;
  }
  return value;
}

function describeRef(ref: UserRef): Record<string, string> {
  return Object.fromEntries(Object.entries(ref).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}
