import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Attribute, Change, Client } from 'ldapts';
import type { Directory, DirectoryUser, ResetPasswordOptions, UserRef } from '../../domain/ports/directory.ts';
import { AppError } from '../../domain/errors.ts';
import type { Logger } from '../../domain/logger.ts';
import { Secret } from '../../domain/secret.ts';
import { mapLdapError, type LdapPhase } from './ldap-errors.ts';
import { escapeFilterValue, findUsersFilter, isSidString, sidFilter, validateDn, validateQuery } from './ldap-filter.ts';
import { generatePassword } from './password-generator.ts';
import { privilegedGroupsOf } from './ad-privileged-groups.ts';
import { ATTID_UNICODE_PWD, replBlobChangeTime, replXmlChangeTime } from './ad-replication-metadata.ts';
import { BINARY_ATTRIBUTES, UF_ACCOUNTDISABLE, USER_ATTRIBUTES, USER_FILTER, binary, texts, toUser } from './ad-user-entry.ts';
import { outboundSpan, telemetryEnabled } from '../../shared/telemetry.ts';
import { ldapServer, traceLdapClient } from './ldap-tracing.ts';

export { replBlobChangeTime, replXmlChangeTime } from './ad-replication-metadata.ts';
export { fileTime, parentDn } from './ad-user-entry.ts';

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

export function createLdapDirectory(options: LdapDirectoryOptions): Directory {
  const url = new URL(options.url);
  const secure = url.protocol === 'ldaps:';
  const server = ldapServer(options.url);
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
  function session<T>(operation: string, work: (client: Client) => Promise<T>): Promise<T> {
    return outboundSpan(`ldap ${operation}`, { ...server, 'ldap.operation': operation }, () => connectAndRun(operation, work));
  }

  async function connectAndRun<T>(operation: string, work: (client: Client) => Promise<T>): Promise<T> {
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
    if (telemetryEnabled()) traceLdapClient(client, server);
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
      users.push(toUser(entry, await privilegedGroupsOf(client, options.timeoutMs, entry)));
    }
    return users;
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

function isUnder(dn: string, base: string): boolean {
  const norm = (s: string) => s.replace(/,\s+/g, ',').toLowerCase();
  const d = norm(dn);
  const b = norm(base);
  return d === b || d.endsWith(`,${b}`);
}

function describeRef(ref: UserRef): Record<string, string> {
  return Object.fromEntries(Object.entries(ref).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}
