import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Attribute, Change, Client, type Entry } from 'ldapts';
import { forcedChangeBlockers, type Directory, type DirectoryUser, type PrivilegedGroup, type ResetPasswordOptions, type UserRef } from '../../domain/ports/directory.ts';
import { AppError } from '../../domain/errors.ts';
import type { Logger } from '../../domain/logger.ts';
import { Secret } from '../../domain/secret.ts';
import { mapLdapError, type LdapPhase } from './ldap-errors.ts';
import { escapeFilterValue, findUsersFilter, guidToString, isSidString, sidFilter, sidToString, validateDn, validateQuery } from './ldap-filter.ts';
import { generatePassword } from './password-generator.ts';

export interface LdapDirectoryOptions {
  /** ldaps://host:636, or ldap://host:389 which is upgraded with StartTLS before any bind. */
  url: string;
  bindDn: string;
  bindPassword: Secret;
  /** Searches and DNs given by callers stay under this DN. */
  baseDn: string;
  /** PEM of the CA(s) that signed the directory's certificate; Node's trust store when absent. */
  caPem?: string | string[];
  /** NetBIOS domain (CORP): a DOMAIN\sam query naming another domain matches nothing. */
  netbiosDomain?: string;
  /** Upper bound for one directory call end to end: connect, TLS, bind and the requests. */
  timeoutMs: number;
  logger: Logger;
  /** Cap on findUsers results whatever the caller asks (default 25). */
  maxResults?: number;
  /**
   * For ldap:// URLs: 'starttls' (default). 'plain' sends the bind unencrypted and exists only
   * so tests can prove the directory refuses it; configuration must never offer it.
   */
  plainTransport?: 'starttls' | 'plain';
  /** Password generator; tests inject a weak one to provoke the domain policy. */
  generatePassword?: (avoid: string[]) => string;
}

const USER_FILTER = '(sAMAccountType=805306368)'; // normal user accounts: no computers, trusts or groups
const USER_ATTRIBUTES = [
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
const BINARY_ATTRIBUTES = ['objectSid', 'objectGUID'];

const UF_ACCOUNTDISABLE = 0x2;
const UF_LOCKOUT = 0x10;
const UF_PASSWORD_EXPIRED = 0x800000;

// Groups whose members control the domain (the AdminSDHolder-protected set, plus Group Policy
// Creator Owners, whose members can write policy), by well-known SID or RID.
const BUILTIN_PRIVILEGED: Record<string, PrivilegedGroup> = {
  'S-1-5-32-544': 'Administrators',
  'S-1-5-32-548': 'Account Operators',
  'S-1-5-32-549': 'Server Operators',
  'S-1-5-32-550': 'Print Operators',
  'S-1-5-32-551': 'Backup Operators',
  'S-1-5-32-552': 'Replicator',
};
const DOMAIN_PRIVILEGED_RIDS: Record<number, PrivilegedGroup> = {
  512: 'Domain Admins',
  516: 'Domain Controllers',
  518: 'Schema Admins',
  519: 'Enterprise Admins',
  520: 'Group Policy Creator Owners',
  521: 'Read-only Domain Controllers',
  526: 'Key Admins',
  527: 'Enterprise Key Admins',
};
/** ATTRTYP of unicodePwd in replPropertyMetaData (a base-schema attribute: prefix 0x0009). */
const ATTID_UNICODE_PWD = 0x0009005a;

export function createLdapDirectory(options: LdapDirectoryOptions): Directory {
  const url = new URL(options.url);
  const secure = url.protocol === 'ldaps:';
  if (!secure && url.protocol !== 'ldap:') throw new AppError('CONFIG_INVALID', 'The directory URL must start with ldaps:// or ldap://.');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const transport = secure ? 'ldaps' : (options.plainTransport ?? 'starttls');
  const baseDn = options.baseDn;
  const maxResults = Math.max(1, options.maxResults ?? 25);
  const log = options.logger.child({ component: 'ldap-directory' });
  const makePassword = options.generatePassword ?? ((avoid: string[]) => generatePassword({ length: 24, avoid }));
  const tlsOptions: ConnectionOptions = {
    minVersion: 'TLSv1.2',
    ...(options.caPem === undefined ? {} : { ca: options.caPem }),
    // Certificate names are checked against `host`; SNI must not carry an IP address.
    host,
    ...(isIP(host) ? {} : { servername: host }),
  };

  /**
   * One short connection per call: connect, (StartTLS,) bind as the bot, run `work`, unbind.
   * The whole session races one deadline that destroys the sockets, because ldapts has no
   * timeout for the StartTLS handshake and none at all by default.
   */
  async function session<T>(operation: string, work: (client: Client) => Promise<T>): Promise<T> {
    const sockets: Socket[] = [];
    const client = new Client({
      url: options.url,
      timeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
      strictDN: true,
      // ldapts quirk: tlsOptions on an ldap:// client switch it to implicit TLS; StartTLS gets them instead.
      ...(secure ? { tlsOptions } : {}),
      createConnection: ((...args: Parameters<typeof netConnect>) => track(netConnect(...args))) as typeof netConnect,
      createSecureConnection: ((...args: Parameters<typeof tlsConnect>) => track(tlsConnect(...args))) as typeof tlsConnect,
    });
    let connected = false;
    function track<S extends Socket>(socket: S): S {
      sockets.push(socket);
      // ldaps:// connects inside bind(): only the socket knows whether the connection stood.
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        connected = true;
      });
      return socket;
    }
    let phase: LdapPhase = 'connect';
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        for (const socket of sockets) socket.destroy();
        reject(new AppError('TIMEOUT', `The directory did not answer within ${options.timeoutMs} ms.`, { details: { operation, phase: connected ? phase : 'connect', timeoutMs: options.timeoutMs } }));
      }, options.timeoutMs);
    });
    const started = performance.now();
    const run = async (): Promise<T> => {
      if (transport === 'starttls') await client.startTLS({ ...tlsOptions });
      phase = 'bind';
      await client.bind(options.bindDn, options.bindPassword.reveal());
      phase = 'operation';
      return work(client);
    };
    try {
      return await Promise.race([run(), deadline]);
    } catch (error) {
      const mapped = mapLdapError(error, { operation, phase: connected ? phase : 'connect' });
      log.warn({ operation, code: mapped.code, details: mapped.details, ms: Math.round(performance.now() - started) }, 'directory call failed');
      throw mapped;
    } finally {
      clearTimeout(timer);
      if (timedOut) for (const socket of sockets) socket.destroy();
      // Not awaited: a polite unbind must not hold the caller (ldapts destroys the socket after it).
      else client.unbind().catch(() => undefined);
    }
  }

  async function searchUsers(client: Client, base: string, scope: 'base' | 'sub', filter: string, sizeLimit: number): Promise<DirectoryUser[]> {
    const { searchEntries } = await client.search(base, {
      scope,
      filter: `(&${USER_FILTER}${filter})`,
      attributes: USER_ATTRIBUTES,
      explicitBufferAttributes: BINARY_ATTRIBUTES,
      sizeLimit,
      timeLimit: Math.max(1, Math.ceil(options.timeoutMs / 1000)),
    });
    const users: DirectoryUser[] = [];
    // Sequential on purpose: one connection, and the number of entries is bounded by sizeLimit.
    for (const entry of searchEntries.slice(0, sizeLimit)) {
      users.push(toUser(entry, await privilegedGroupsOf(client, entry)));
    }
    return users;
  }

  /**
   * Privileged groups from the user's tokenGroups: the SIDs of every security group the user is
   * in, transitively, primary group and the domain's built-in groups included, computed by the
   * DC itself. Independent of LDAP_BASE_DN: Domain Admins lives in CN=Users and the built-in
   * groups in CN=Builtin, which a group search under an OU base would never see.
   * tokenGroups is a constructed attribute, only returned by a base-scope search on the object
   * (https://learn.microsoft.com/en-us/windows/win32/adschema/a-tokengroups).
   * A DC that does not return it (no right to read it) must not make the user look unprivileged:
   * the call fails with DIRECTORY_RIGHTS so the check refuses with a reason.
   */
  async function privilegedGroupsOf(client: Client, entry: Entry): Promise<PrivilegedGroup[]> {
    const found = new Set<PrivilegedGroup>();
    const primary = DOMAIN_PRIVILEGED_RIDS[Number(text(entry, 'primaryGroupID'))];
    if (primary) found.add(primary);
    const { searchEntries } = await client.search(entry.dn, {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['tokenGroups'],
      explicitBufferAttributes: ['tokenGroups'],
      sizeLimit: 1,
      timeLimit: Math.max(1, Math.ceil(options.timeoutMs / 1000)),
    });
    const sids = buffers(searchEntries[0], 'tokenGroups');
    // Every user is at least in Domain Users (and its primary group): an empty answer means the
    // attribute was withheld, not that the user is in no group.
    if (sids.length === 0) {
      throw new AppError('DIRECTORY_RIGHTS', 'The directory did not return the groups (tokenGroups) of the account, so the bot cannot tell whether it is privileged.', { details: { operation: 'tokenGroups' } });
    }
    for (const sid of sids) {
      const name = privilegedGroupOf(sidToString(sid));
      if (name) found.add(name);
    }
    return [...found];
  }

  function refFilter(ref: UserRef): string {
    const parts: string[] = [];
    if (ref.sid !== undefined) {
      if (!isSidString(ref.sid)) throw new AppError('INPUT_INVALID', 'The account reference has a malformed SID.');
      parts.push(sidFilter(ref.sid));
    }
    if (ref.samAccountName !== undefined) parts.push(`(sAMAccountName=${escapeFilterValue(validateQuery(ref.samAccountName))})`);
    if (ref.userPrincipalName !== undefined) parts.push(`(userPrincipalName=${escapeFilterValue(validateQuery(ref.userPrincipalName))})`);
    if (parts.length === 0 && ref.dn === undefined) throw new AppError('INPUT_INVALID', 'The account reference names no account.');
    return parts.join('');
  }

  async function resolve(client: Client, ref: UserRef): Promise<DirectoryUser> {
    const filter = refFilter(ref);
    let users: DirectoryUser[];
    if (ref.dn !== undefined) {
      const dn = validateDn(ref.dn);
      if (!isUnder(dn, baseDn)) throw new AppError('INPUT_INVALID', 'The account is outside the directory base the bot works in.');
      users = await searchUsers(client, dn, 'base', filter, 1);
    } else {
      users = await searchUsers(client, baseDn, 'sub', filter, 2);
    }
    if (users.length > 1) throw new AppError('CONFLICT', 'The account reference matches more than one account.', { details: { ref: describeRef(ref) } });
    const user = users[0];
    if (!user) throw new AppError('DIRECTORY_NO_SUCH_OBJECT', 'No account in the directory matches the reference.', { details: { ref: describeRef(ref) } });
    return user;
  }

  async function setAccountControl(operation: string, ref: UserRef, change: (uac: number) => number): Promise<DirectoryUser> {
    return session(operation, async (client) => {
      // Compare-and-swap (delete the old value, add the new one, in one modify): a concurrent
      // change of other flags makes the server refuse (16) instead of being silently undone.
      for (let attempt = 1; ; attempt += 1) {
        const user = await resolve(client, ref);
        const next = change(user.userAccountControl);
        if (next === user.userAccountControl) {
          log.info({ operation, dn: user.dn, userAccountControl: next }, 'account already in the wanted state');
          return user;
        }
        try {
          await client.modify(user.dn, [
            new Change({ operation: 'delete', modification: new Attribute({ type: 'userAccountControl', values: [String(user.userAccountControl)] }) }),
            new Change({ operation: 'add', modification: new Attribute({ type: 'userAccountControl', values: [String(next)] }) }),
          ]);
        } catch (error) {
          if (attempt < 3 && (error as { code?: unknown }).code === 16) continue;
          throw error;
        }
        log.info({ operation, dn: user.dn, from: user.userAccountControl, to: next }, 'account control changed');
        return resolve(client, { dn: user.dn });
      }
    });
  }

  return {
    async findUsers(query, limit = 10) {
      const filter = findUsersFilter(query, options.netbiosDomain);
      if (filter === null) return [];
      const size = Math.min(Math.max(1, Math.floor(limit)), maxResults);
      return session('findUsers', (client) => searchUsers(client, baseDn, 'sub', filter, size));
    },
    async getUser(ref) {
      refFilter(ref); // refuse bad references before connecting
      return session('getUser', (client) => resolve(client, ref));
    },
    async disableAccount(ref) {
      refFilter(ref);
      return setAccountControl('disableAccount', ref, (uac) => uac | UF_ACCOUNTDISABLE);
    },
    async enableAccount(ref) {
      refFilter(ref);
      return setAccountControl('enableAccount', ref, (uac) => uac & ~UF_ACCOUNTDISABLE);
    },
    async unlockAccount(ref) {
      refFilter(ref);
      return session('unlockAccount', async (client) => {
        const user = await resolve(client, ref);
        if (!user.locked) return user;
        await client.modify(user.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'lockoutTime', values: ['0'] }) }));
        log.info({ operation: 'unlockAccount', dn: user.dn }, 'account unlocked');
        return resolve(client, { dn: user.dn });
      });
    },
    async resetPassword(ref: UserRef, reset: ResetPasswordOptions) {
      refFilter(ref);
      return session('resetPassword', async (client) => {
        const user = await resolve(client, ref);
        const password = new Secret(makePassword([user.samAccountName, user.displayName ?? '']));
        // AD takes a new password only as the UTF-16LE bytes of the quoted string, over TLS.
        const changes = [new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${password.reveal()}"`, 'utf16le')] }) })];
        if (reset.mustChangeAtNextLogon) {
          changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdLastSet', values: ['0'] }) }));
        }
        await client.modify(user.dn, changes);
        log.info({ operation: 'resetPassword', dn: user.dn, mustChangeAtNextLogon: reset.mustChangeAtNextLogon }, 'password reset');
        return password;
      });
    },
    async passwordWrittenAt(ref: UserRef) {
      refFilter(ref);
      return session('passwordWrittenAt', async (client) => {
        const user = await resolve(client, ref);
        const { searchEntries } = await client.search(user.dn, {
          scope: 'base',
          filter: '(objectClass=*)',
          attributes: ['msDS-ReplAttributeMetaData', 'replPropertyMetaData'],
          explicitBufferAttributes: ['replPropertyMetaData'],
          sizeLimit: 1,
          timeLimit: Math.max(1, Math.ceil(options.timeoutMs / 1000)),
        });
        const entry = searchEntries[0];
        if (!entry) return null;
        // Windows answers the constructed XML attribute; Samba (4.17) leaves it empty but returns the blob.
        return replXmlChangeTime(texts(entry, 'msDS-ReplAttributeMetaData'), 'unicodePwd') ?? replBlobChangeTime(binary(entry, 'replPropertyMetaData'), ATTID_UNICODE_PWD);
      });
    },
    async ping() {
      return session('ping', async (client) => {
        await client.search(baseDn, { scope: 'base', filter: '(objectClass=*)', attributes: ['objectClass'], sizeLimit: 1 });
      });
    },
  };
}

function toUser(entry: Entry, privilegedGroups: PrivilegedGroup[]): DirectoryUser {
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

/** ftimeLastOriginatingChange of `attribute` in msDS-ReplAttributeMetaData values (DS_REPL_ATTR_META_DATA XML). */
export function replXmlChangeTime(values: string[], attribute: string): Date | null {
  for (const xml of values) {
    const name = /<pszAttributeName>([^<]*)<\/pszAttributeName>/.exec(xml)?.[1];
    if (name?.toLowerCase() !== attribute.toLowerCase()) continue;
    const time = /<ftimeLastOriginatingChange>([^<]*)<\/ftimeLastOriginatingChange>/.exec(xml)?.[1];
    const parsed = time === undefined ? Number.NaN : Date.parse(time);
    return Number.isNaN(parsed) ? null : new Date(parsed);
  }
  return null;
}

/**
 * originating_change_time of `attid` in a replPropertyMetaData blob (replPropertyMetaDataBlob
 * version 1: version, reserved, count, reserved, then 48-byte entries: attid, version,
 * NTTIME in whole seconds since 1601, invocation GUID, originating USN, local USN).
 */
export function replBlobChangeTime(blob: Buffer | undefined, attid: number): Date | null {
  if (!blob || blob.length < 16 || blob.readUInt32LE(0) !== 1) return null;
  const count = blob.readUInt32LE(8);
  for (let i = 0; i < count; i += 1) {
    const at = 16 + i * 48;
    if (at + 48 > blob.length) return null;
    if (blob.readUInt32LE(at) !== attid) continue;
    const seconds = Number(blob.readBigUInt64LE(at + 8));
    return seconds === 0 ? null : new Date((seconds - 11_644_473_600) * 1000);
  }
  return null;
}

function privilegedGroupOf(sid: string): PrivilegedGroup | undefined {
  const builtin = BUILTIN_PRIVILEGED[sid];
  if (builtin) return builtin;
  const rid = /^S-1-5-21-\d+-\d+-\d+-(\d+)$/.exec(sid)?.[1];
  return rid === undefined ? undefined : DOMAIN_PRIVILEGED_RIDS[Number(rid)];
}

function value(entry: Entry, name: string): Entry[string] | undefined {
  if (name in entry) return entry[name];
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : entry[key];
}

function texts(entry: Entry, name: string): string[] {
  const raw = value(entry, name);
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((item) => (Buffer.isBuffer(item) ? item.toString('utf8') : item));
}

function text(entry: Entry, name: string): string | undefined {
  return texts(entry, name)[0];
}

function buffers(entry: Entry | undefined, name: string): Buffer[] {
  if (!entry) return [];
  const raw = value(entry, name);
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).filter((item): item is Buffer => Buffer.isBuffer(item));
}

function binary(entry: Entry, name: string): Buffer | undefined {
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

function isUnder(dn: string, base: string): boolean {
  const norm = (s: string) => s.replace(/,\s+/g, ',').toLowerCase();
  const d = norm(dn);
  const b = norm(base);
  return d === b || d.endsWith(`,${b}`);
}

function describeRef(ref: UserRef): Record<string, string> {
  return Object.fromEntries(Object.entries(ref).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}
