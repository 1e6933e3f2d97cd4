import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLdapDirectory, type LdapDirectoryOptions } from '../../src/adapters/ldap/ldap-directory.ts';
import { isPrivileged, type Directory } from '../../src/domain/ports/directory.ts';
import { createLogger, Secret } from '../../src/observability/logger.ts';
import { appError } from '../support/failures.ts';
import { requireSamba, staffDn, type SambaEnv } from '../support/samba.ts';
import { asSambaAdmin, sambaBindReason, sambaDirectory } from '../support/samba-directory.ts';
import { ensureTestCa } from '../../sim/test-ca.ts';

/** Every log line the adapter writes, to prove secrets never reach the logs. */
const logLines: string[] = [];
const logger = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
});

function directoryFor(env: SambaEnv, overrides: Partial<LdapDirectoryOptions> = {}): Directory {
  return sambaDirectory(env, logger, overrides);
}

/** Reads attributes as the domain administrator: an independent view of what the adapter wrote. */
async function readAsAdmin(env: SambaEnv, dn: string, attributes: string[]): Promise<Record<string, unknown>> {
  return asSambaAdmin(env, async (client) => {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes });
    return searchEntries[0] ?? {};
  });
}

async function modifyAsAdmin(env: SambaEnv, dn: string, type: string, value: string): Promise<void> {
  await asSambaAdmin(env, (client) => client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) })));
}

describe('LDAP directory against Samba AD: lookups', () => {
  it('finds one user by sAMAccountName with the fields the bot shows', async (ctx) => {
    const env = requireSamba(ctx);
    const [user, ...rest] = await directoryFor(env).findUsers('jdoe');
    expect(rest).toEqual([]);
    expect(user).toMatchObject({
      dn: staffDn(env, 'John Doe'),
      samAccountName: 'jdoe',
      userPrincipalName: 'jdoe@corp.example.test',
      displayName: 'John Doe',
      mail: 'john.doe@corp.example.test',
      enabled: true,
      locked: false,
      mustChangePassword: false,
      ou: env.staffOu,
      adminCount: 0,
      privilegedGroups: [],
      userAccountControl: 512,
    });
    expect(user?.sid).toMatch(/^S-1-5-21-\d+-\d+-\d+-\d{4,}$/);
    expect(user?.objectGuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(Date.parse(user?.pwdLastSet ?? '')).toBeGreaterThan(Date.parse('2020-01-01'));
    expect(user?.memberOf).toContain(`CN=SOC Analysts,CN=Users,${env.baseDn}`);
    expect(user && isPrivileged(user)).toBe(false);
  });

  it('finds the same user by DOMAIN\\sam, UPN, e-mail and SID, and by getUser', async (ctx) => {
    const env = requireSamba(ctx);
    const directory = directoryFor(env);
    const [byUpn] = await directory.findUsers('jdoe@corp.example.test');
    const sid = byUpn?.sid ?? '';
    const queries = ['CORP\\jdoe', 'corp\\JDOE', 'john.doe@corp.example.test', sid];
    for (const query of queries) {
      const found = await directory.findUsers(query);
      expect(found.map((u) => u.samAccountName), query).toEqual(['jdoe']);
    }
    expect(await directory.findUsers('OTHERDOMAIN\\jdoe')).toEqual([]);
    expect((await directory.getUser({ sid })).dn).toBe(staffDn(env, 'John Doe'));
    expect((await directory.getUser({ samAccountName: 'jdoe', userPrincipalName: 'jdoe@corp.example.test' })).sid).toBe(sid);
    // Fields given must all match the same account.
    expect((await appError(directory.getUser({ samAccountName: 'jdoe', userPrincipalName: 'asmith@corp.example.test' }))).code).toBe('DIRECTORY_NO_SUCH_OBJECT');
  });

  it('returns every match for part of a display name, within the limit', async (ctx) => {
    const env = requireSamba(ctx);
    const directory = directoryFor(env);
    const found = await directory.findUsers('John Doe');
    expect(found.map((u) => u.samAccountName).sort()).toEqual(['jdoe', 'jdoering']);
    const tests = await directory.findUsers('Test User', 4);
    expect(tests).toHaveLength(4);
    expect(tests.every((u) => u.samAccountName.startsWith('test'))).toBe(true);
  });

  it('handles unicode names and a CN containing a comma', async (ctx) => {
    const env = requireSamba(ctx);
    const directory = directoryFor(env);
    const [zoe] = await directory.findUsers('Zoë Mü');
    expect(zoe).toMatchObject({ samAccountName: 'zmuller', displayName: 'Zoë Müller' });
    expect(await directory.findUsers('Zoe Muller')).toEqual([]);
    const [jane, ...others] = await directory.findUsers('Doe, Jane');
    expect(others).toEqual([]);
    expect(jane).toMatchObject({ samAccountName: 'jadoe', dn: staffDn(env, 'Doe\\, Jane'), ou: env.staffOu });
    expect((await directory.getUser({ dn: jane?.dn ?? '' })).samAccountName).toBe('jadoe');
  });

  it('never lets hostile input widen the search or surface a raw error', async (ctx) => {
    const env = requireSamba(ctx);
    const directory = directoryFor(env);
    const hostile = ['*', '**', '*)(objectClass=*', '*)(|(sAMAccountName=*', 'jdoe)(|(cn=*', 'j*', '\\', '\\2a', ')(', 'CORP\\*', '*@*', 'S-1-5-*', '(', 'CN=Doe\\, Jane,OU=Staff'];
    for (const query of hostile) {
      expect(await directory.findUsers(query), query).toEqual([]);
    }
    for (const query of ['', '   ', 'a'.repeat(257), 'jdoe\u0000', 'jd\noe']) {
      const error = await appError(directory.findUsers(query));
      expect(error.code, JSON.stringify(query)).toBe('INPUT_INVALID');
    }
    expect((await appError(directory.getUser({ dn: 'CN=John Doe,OU=Staff,DC=elsewhere,DC=test' }))).code).toBe('INPUT_INVALID');
    expect((await appError(directory.getUser({ sid: 'S-1-5-21-*' }))).code).toBe('INPUT_INVALID');
    expect((await appError(directory.getUser({}))).code).toBe('INPUT_INVALID');
  });

  it('marks direct and nested members of privileged groups', async (ctx) => {
    const env = requireSamba(ctx);
    const directory = directoryFor(env);
    const admin = await directory.getUser({ samAccountName: 'padmin' });
    expect(admin.privilegedGroups).toContain('Domain Admins');
    expect(admin.adminCount).toBe(1);
    expect(isPrivileged(admin)).toBe(true);
    const nested = await directory.getUser({ samAccountName: 'nnested' });
    expect(nested.memberOf).not.toContain(`CN=Domain Admins,CN=Users,${env.baseDn}`);
    expect(nested.privilegedGroups).toContain('Domain Admins');
    // The built-in Administrator is in several: found through Builtin and domain groups alike.
    const builtin = await directory.getUser({ samAccountName: 'Administrator' });
    expect(builtin.privilegedGroups).toEqual(expect.arrayContaining(['Domain Admins', 'Administrators', 'Enterprise Admins', 'Schema Admins']));
  });

  it('answers ping, also over ldap:// with StartTLS', async (ctx) => {
    const env = requireSamba(ctx);
    await directoryFor(env).ping();
    await directoryFor(env, { url: env.ldapPlainUrl }).ping();
  });
});

describe('LDAP directory against Samba AD: containment', () => {
  it('disables and re-enables an account, keeping the other flags', async (ctx) => {
    const env = requireSamba(ctx);
    const directory = directoryFor(env);
    const dn = staffDn(env, 'Test User01');
    const disabled = await directory.disableAccount({ samAccountName: 'test01' });
    expect(disabled).toMatchObject({ dn, enabled: false, userAccountControl: 514 });
    expect(await readAsAdmin(env, dn, ['userAccountControl'])).toMatchObject({ userAccountControl: '514' });
    // Idempotent: a second click changes nothing and does not fail.
    expect((await directory.disableAccount({ dn })).userAccountControl).toBe(514);
    const enabled = await directory.enableAccount({ samAccountName: 'test01' });
    expect(enabled).toMatchObject({ enabled: true, userAccountControl: 512 });
    expect(await readAsAdmin(env, dn, ['userAccountControl'])).toMatchObject({ userAccountControl: '512' });
  });

  it('preserves unrelated userAccountControl flags (password never expires)', async (ctx) => {
    const env = requireSamba(ctx);
    const dn = staffDn(env, 'Test User05');
    await modifyAsAdmin(env, dn, 'userAccountControl', String(512 | 0x10000));
    const directory = directoryFor(env);
    expect((await directory.disableAccount({ samAccountName: 'test05' })).userAccountControl).toBe(512 | 0x10000 | 0x2);
    expect((await directory.enableAccount({ samAccountName: 'test05' })).userAccountControl).toBe(512 | 0x10000);
  });

  it('a disabled account can no longer bind', async (ctx) => {
    const env = requireSamba(ctx);
    const directory = directoryFor(env);
    const password = await directory.resetPassword({ samAccountName: 'test04' }, { mustChangeAtNextLogon: false });
    const dn = staffDn(env, 'Test User04');
    expect(await sambaBindReason(env, dn, password.reveal())).toBe('ok');
    await directory.disableAccount({ samAccountName: 'test04' });
    expect(await sambaBindReason(env, dn, password.reveal())).toBe('533');
    await directory.enableAccount({ samAccountName: 'test04' });
    expect(await sambaBindReason(env, dn, password.reveal())).toBe('ok');
  });

  it('resets a password: the new one must be changed at logon, the old one is refused', async (ctx) => {
    const env = requireSamba(ctx);
    const directory = directoryFor(env);
    const dn = staffDn(env, 'Test User02');
    const first = await directory.resetPassword({ samAccountName: 'test02' }, { mustChangeAtNextLogon: false });
    expect(first).toBeInstanceOf(Secret);
    expect(String(first)).toBe('[redacted]');
    expect(await sambaBindReason(env, dn, first.reveal())).toBe('ok');

    const second = await directory.resetPassword({ samAccountName: 'test02' }, { mustChangeAtNextLogon: true });
    expect(second.reveal()).not.toBe(first.reveal());
    const user = await directory.getUser({ samAccountName: 'test02' });
    expect(user).toMatchObject({ mustChangePassword: true, pwdLastSet: null, enabled: true });
    expect(await readAsAdmin(env, dn, ['pwdLastSet'])).toMatchObject({ pwdLastSet: '0' });
    expect(await sambaBindReason(env, dn, second.reveal())).toBe('773'); // right password, must change it
    expect(await sambaBindReason(env, dn, first.reveal())).toBe('52e'); // old password no longer works

    const logs = logLines.join('');
    expect(logs).toContain('password reset');
    expect(logs).not.toContain(first.reveal());
    expect(logs).not.toContain(second.reveal());
    expect(logs).not.toContain(env.servicePassword);
  });

  it('maps a password refused by the domain policy to DIRECTORY_POLICY', async (ctx) => {
    const env = requireSamba(ctx);
    const weak = directoryFor(env, { generatePassword: () => 'abc' });
    const error = await appError(weak.resetPassword({ samAccountName: 'test03' }, { mustChangeAtNextLogon: true }));
    expect(error.code).toBe('DIRECTORY_POLICY');
    expect(error.details.ldapCode).toBe(19);
    expect(error.message).not.toContain('abc');
    // Nothing changed: the forced change was part of the same refused modify.
    expect((await directoryFor(env).getUser({ samAccountName: 'test03' })).mustChangePassword).toBe(false);
  });

  it('refuses to touch an account outside the delegated OU (DIRECTORY_RIGHTS)', async (ctx) => {
    const env = requireSamba(ctx);
    const directory = directoryFor(env);
    const outsider = await directory.getUser({ samAccountName: 'outsider' });
    expect(outsider.ou).toBe(`CN=Users,${env.baseDn}`);
    const disable = await appError(directory.disableAccount({ samAccountName: 'outsider' }));
    expect(disable).toMatchObject({ code: 'DIRECTORY_RIGHTS', details: { ldapCode: 50, operation: 'disableAccount' } });
    const reset = await appError(directory.resetPassword({ samAccountName: 'outsider' }, { mustChangeAtNextLogon: true }));
    expect(reset).toMatchObject({ code: 'DIRECTORY_RIGHTS', details: { ldapCode: 50 } });
    expect((await directory.getUser({ samAccountName: 'outsider' })).enabled).toBe(true);
  });

  it('maps an unknown DN to DIRECTORY_NO_SUCH_OBJECT', async (ctx) => {
    const env = requireSamba(ctx);
    const directory = directoryFor(env);
    const missingDn = await appError(directory.disableAccount({ dn: staffDn(env, 'Nobody Here') }));
    expect(missingDn).toMatchObject({ code: 'DIRECTORY_NO_SUCH_OBJECT', details: { ldapCode: 32 } });
    const missingSam = await appError(directory.getUser({ samAccountName: 'nobody-here' }));
    expect(missingSam.code).toBe('DIRECTORY_NO_SUCH_OBJECT');
  });
});

describe('LDAP directory against Samba AD: connection failures', () => {
  it('maps a plain ldap:// simple bind to DIRECTORY_TLS_REQUIRED', async (ctx) => {
    const env = requireSamba(ctx);
    const error = await appError(directoryFor(env, { url: env.ldapPlainUrl, plainTransport: 'plain' }).ping());
    expect(error).toMatchObject({ code: 'DIRECTORY_TLS_REQUIRED', details: { ldapCode: 8, phase: 'bind' } });
  });

  it('maps a wrong bind password to DIRECTORY_UNAVAILABLE naming the bind account, without the password', async (ctx) => {
    const env = requireSamba(ctx);
    const wrong = `Wrong-${env.servicePassword}`;
    const error = await appError(directoryFor(env, { bindPassword: new Secret(wrong) }).findUsers('jdoe'));
    expect(error).toMatchObject({ code: 'DIRECTORY_UNAVAILABLE', details: { ldapCode: 49, bindReason: 'invalid-credentials' } });
    expect(error.message).toMatch(/bind account/);
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(wrong);
  });

  it('refuses a server certificate from another CA', async (ctx) => {
    const env = requireSamba(ctx);
    const error = await appError(directoryFor(env, { caPem: ensureTestCa().ca }).ping());
    expect(error.code).toBe('DIRECTORY_UNAVAILABLE');
    expect(error.details.phase).toBe('connect');
  });
});

describe('LDAP directory: unreachable and silent servers (no Samba needed)', () => {
  const sockets: Socket[] = [];
  let silent: Server;
  let silentPort = 0;
  let closedPort = 0;

  beforeAll(async () => {
    // Accepts TCP and never says a word: neither TLS handshake nor LDAP answer.
    silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  const offline = (url: string, timeoutMs = 400) =>
    createLdapDirectory({ url, bindDn: 'CN=x,DC=corp,DC=example,DC=test', bindPassword: new Secret('unused'), baseDn: 'DC=corp,DC=example,DC=test', timeoutMs, logger });

  for (const scheme of ['ldaps', 'ldap'] as const) {
    it(`${scheme}://: a server that never answers fails with TIMEOUT within the timeout`, async () => {
      const started = performance.now();
      const error = await appError(offline(`${scheme}://127.0.0.1:${silentPort}`).findUsers('jdoe'));
      const elapsed = performance.now() - started;
      expect(error.code).toBe('TIMEOUT');
      expect(elapsed).toBeGreaterThanOrEqual(350);
      expect(elapsed).toBeLessThan(1_500);
    });
  }

  it('a closed port fails fast with DIRECTORY_UNAVAILABLE', async () => {
    const error = await appError(offline(`ldaps://127.0.0.1:${closedPort}`, 5_000).ping());
    expect(error).toMatchObject({ code: 'DIRECTORY_UNAVAILABLE', details: { errno: 'ECONNREFUSED', phase: 'connect' } });
  });

  it('refuses a URL that is not LDAP', () => {
    expect(() => offline('https://127.0.0.1:636')).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
