import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdRemediation } from '../../src/adapters/ldap/ad-remediation.ts';
import { createRemediationRouter } from '../../src/actions/remediation-router.ts';
import { replBlobChangeTime, replXmlChangeTime, type LdapDirectoryOptions } from '../../src/adapters/ldap/ldap-directory.ts';
import type { ActionTarget, Remediation } from '../../src/domain/remediation.ts';
import { Secret } from '../../src/observability/logger.ts';
import { appError } from '../support/failures.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { requireSamba, sambaEnv, staffDn, type SambaEnv } from '../support/samba.ts';
import { asSambaAdmin, sambaBindReason, sambaDirectory } from '../support/samba-directory.ts';

/**
 * AD containment through the Directory port and the LDAP adapter against the real Samba AD DC,
 * read back as the domain administrator (an independent view). Uses fixture users test06..test10.
 */

const capture = captureLogger();

function remediationFor(env: SambaEnv, overrides: Partial<LdapDirectoryOptions> = {}): Remediation {
  const directory = sambaDirectory(env, capture.logger, overrides);
  // Through the router, as the workflow will call it: its log line is part of what is checked.
  return createRemediationRouter({ activeDirectory: createAdRemediation({ directory, netbiosDomain: env.domain }) });
}

const opts = () => ({ dryRun: false, log: capture.logger });
const sam = (name: string): ActionTarget => ({ accountKey: `sam:corp\\${name}` });

async function readAttrs(env: SambaEnv, dn: string): Promise<{ userAccountControl: string; pwdLastSet: string; objectSid: Buffer }> {
  return asSambaAdmin(env, async (client) => {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['userAccountControl', 'pwdLastSet', 'objectSid'], explicitBufferAttributes: ['objectSid'] });
    return searchEntries[0] as unknown as { userAccountControl: string; pwdLastSet: string; objectSid: Buffer };
  });
}

/** S-1-5-21-... from the binary objectSid, so the test does not reuse the adapter's decoder. */
function sidString(buf: Buffer): string {
  const count = buf.readUInt8(1);
  const authority = buf.readUIntBE(2, 6);
  const subs = Array.from({ length: count }, (_, i) => buf.readUInt32LE(8 + i * 4));
  return `S-${buf.readUInt8(0)}-${authority}-${subs.join('-')}`;
}

afterAll(() => {
  // The bind account's password never reaches a log line either (generated ones: see the reset test).
  const env = sambaEnv();
  if (env) expect(capture.text()).not.toContain(env.servicePassword);
});

describe('AD remediation against Samba AD: actions and undo', () => {
  it('disables test06 found by SID, reads it back, and enables it again', async (ctx) => {
    const env = requireSamba(ctx);
    const dn = staffDn(env, 'Test User06');
    const sid = sidString((await readAttrs(env, dn)).objectSid);
    const target: ActionTarget = { accountKey: `sid:${sid.toLowerCase()}`, samAccountName: 'wrong-name-ignored-when-sid-matches' };
    const remediation = remediationFor(env);

    const result = await remediation.run('disable-ad-account', target, opts());
    expect(result.summary).toBe('Disabled CORP\\test06 in AD');
    expect(result.details).toMatchObject({ system: 'activeDirectory', dn, sid, matchedBy: 'sid', userAccountControlBefore: 512, userAccountControlAfter: 514, changed: true });
    expect((await readAttrs(env, dn)).userAccountControl).toBe('514');
    expect(await remediation.readBack('disable-ad-account', target, opts())).toBe('applied');
    expect(await remediation.readBack('enable-ad-account', target, opts())).toBe('not-applied');
    // A second click is harmless.
    expect((await remediation.run('disable-ad-account', target, opts())).summary).toBe('CORP\\test06 is already disabled in AD; nothing to do');

    const undo = await remediation.run('enable-ad-account', sam('test06'), opts());
    expect(undo.summary).toBe('Enabled CORP\\test06 in AD');
    expect((await readAttrs(env, dn)).userAccountControl).toBe('512');
    expect(await remediation.readBack('disable-ad-account', target, opts())).toBe('not-applied');
  });

  it('falls back from an unknown SID to DOMAIN\\sam, and finds by UPN; never by sam of another domain', async (ctx) => {
    const env = requireSamba(ctx);
    const remediation = remediationFor(env);
    const bySam = await remediation.inspect('disable-ad-account', { accountKey: 'sid:s-1-5-21-1-2-3-999999', samAccountName: 'test07', domain: 'corp' }, opts());
    expect(bySam).toEqual({
      found: true,
      privileged: false,
      reasons: [],
      // What AD found (not what the alert said): the guard rails match the bot's own accounts on it.
      identities: [{ system: 'activeDirectory', dn: staffDn(env, 'Test User07'), sid: expect.stringMatching(/^S-1-5-21-\d+-\d+-\d+-\d+$/), samAccountName: 'test07', domain: 'CORP', userPrincipalName: expect.any(String) }],
    });
    const byUpn = await remediation.run('disable-ad-account', { accountKey: 'upn:test07@corp.example.test' }, { ...opts(), dryRun: true });
    expect(byUpn.details).toMatchObject({ matchedBy: 'userPrincipalName', samAccountName: 'test07' });
    expect(await remediation.inspect('disable-ad-account', { accountKey: 'sam:otherdom\\test07' }, opts())).toMatchObject({ found: false });
  });

  it('resets the password of test08: must change at next logon, password only in the Secret, never logged', async (ctx) => {
    const env = requireSamba(ctx);
    const dn = staffDn(env, 'Test User08');
    const remediation = remediationFor(env);
    expect(await remediation.readBack('reset-password', sam('test08'), opts())).toBe('not-applied');
    // The run's start, as the workflow hands it to the read-back (approval.startedAt).
    const since = new Date();
    const result = await remediation.run('reset-password', sam('test08'), opts());
    expect(result.summary).toBe('Reset the password of CORP\\test08 in AD; it must be changed at next logon');
    expect(result.temporaryPassword).toBeInstanceOf(Secret);
    const password = result.temporaryPassword?.reveal() ?? '';
    expect(password.length).toBeGreaterThanOrEqual(14);
    expect((await readAttrs(env, dn)).pwdLastSet).toBe('0');
    // The new password is the one AD now holds: binding with it answers "must change" (773).
    expect(await sambaBindReason(env, dn, password)).toBe('773');
    expect(await remediation.readBack('reset-password', sam('test08'), { ...opts(), since })).toBe('applied');
    // Without the run's start nothing proves this reset wrote the password.
    expect(await remediation.readBack('reset-password', sam('test08'), opts())).toBe('unknown');
    expect(JSON.stringify(result)).not.toContain(password);
    expect(JSON.stringify(result.details)).not.toContain(password);
    expect(capture.lines().some((line) => line.msg === 'action finished' && line.action === 'reset-password')).toBe(true);
    expect(capture.text()).not.toContain(password);
  });

  it('dry run finds and checks the account but changes nothing', async (ctx) => {
    const env = requireSamba(ctx);
    const dn = staffDn(env, 'Test User09');
    const before = await readAttrs(env, dn);
    const remediation = remediationFor(env);
    const disable = await remediation.run('disable-ad-account', sam('test09'), { ...opts(), dryRun: true });
    expect(disable.summary).toBe('DRY RUN: would disable CORP\\test09 in AD');
    expect(disable.details).toMatchObject({ dryRun: true, changed: false, dn });
    const reset = await remediation.run('reset-password', sam('test09'), { ...opts(), dryRun: true });
    expect(reset.summary).toBe('DRY RUN: would reset the password of CORP\\test09 in AD (must change at next logon)');
    expect(reset.temporaryPassword).toBeUndefined();
    const after = await readAttrs(env, dn);
    expect([after.userAccountControl, after.pwdLastSet]).toEqual([before.userAccountControl, before.pwdLastSet]);
    expect(after.userAccountControl).toBe('512');
    // A dry run still reads: a missing account fails the same way as for real.
    expect((await appError(remediation.run('disable-ad-account', sam('nobody99'), { ...opts(), dryRun: true }))).code).toBe('DIRECTORY_NO_SUCH_OBJECT');
  });

  it('inspect reports privileged accounts with reasons', async (ctx) => {
    const env = requireSamba(ctx);
    const remediation = remediationFor(env);
    const admin = await remediation.inspect('disable-ad-account', sam('padmin'), opts());
    expect(admin.found).toBe(true);
    expect(admin.privileged).toBe(true);
    expect(admin.reasons).toEqual(expect.arrayContaining(['adminCount=1 (protected by AdminSDHolder)', 'member of Domain Admins']));
    const nested = await remediation.inspect('reset-password', sam('nnested'), opts());
    expect(nested).toMatchObject({ found: true, privileged: true });
    expect(nested.reasons).toContain('member of Domain Admins');
    expect(nested.reasons.some((r) => r.startsWith('adminCount'))).toBe(false);
  });
});

/** A fresh user in OU=Staff (so tests never share one), created by the domain administrator. */
async function freshUser(env: SambaEnv, prefix: string): Promise<{ sam: string; dn: string }> {
  const sam = `${prefix}${randomBytes(3).toString('hex')}`.slice(0, 20);
  const dn = `CN=${sam},${env.staffOu}`;
  await asSambaAdmin(env, (client) =>
    client.add(dn, [
      new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
      new Attribute({ type: 'sAMAccountName', values: [sam] }),
      new Attribute({ type: 'userPrincipalName', values: [`${sam}@${env.realm.toLowerCase()}`] }),
      new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"Init-${randomBytes(9).toString('base64url')}-9aZ"`, 'utf16le')] }),
      new Attribute({ type: 'userAccountControl', values: ['512'] }),
    ]),
  );
  return { sam, dn };
}

describe('AD remediation against Samba AD: issue 4 read-back and privileged groups', () => {
  it('a reset interrupted before it wrote anything is not reported done because "must change" was already set', async (ctx) => {
    const env = requireSamba(ctx);
    const { sam: name, dn } = await freshUser(env, 'rbmust');
    const directory = sambaDirectory(env, capture.logger);
    const remediation = createRemediationRouter({ activeDirectory: createAdRemediation({ directory, netbiosDomain: env.domain }) });
    // Someone forced "must change at next logon" before the run: pwdLastSet=0, password untouched.
    await asSambaAdmin(env, (client) => client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdLastSet', values: ['0'] }) })));
    await new Promise((r) => setTimeout(r, 1100)); // the metadata keeps whole seconds
    const since = new Date();
    expect((await readAttrs(env, dn)).pwdLastSet).toBe('0');
    // The bot "crashed" before its modify: the old read-back said 'applied' here.
    expect(await remediation.readBack('reset-password', sam(name), { ...opts(), since })).toBe('unknown');
    const written = await directory.passwordWrittenAt?.({ samAccountName: name });
    expect(written).toBeInstanceOf(Date);
    expect(written!.getTime()).toBeLessThan(since.getTime());

    await remediation.run('reset-password', sam(name), opts());
    const after = await directory.passwordWrittenAt?.({ dn });
    expect(after!.getTime()).toBeGreaterThanOrEqual(Math.floor(since.getTime() / 1000) * 1000);
    expect(after!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await remediation.readBack('reset-password', sam(name), { ...opts(), since })).toBe('applied');
  });

  it('reads the unicodePwd change time from Windows-style msDS-ReplAttributeMetaData XML too', () => {
    const xml = (name: string, time: string) => `<DS_REPL_ATTR_META_DATA>\n\t<pszAttributeName>${name}</pszAttributeName>\n\t<dwVersion>3</dwVersion>\n\t<ftimeLastOriginatingChange>${time}</ftimeLastOriginatingChange>\n</DS_REPL_ATTR_META_DATA>\n`;
    expect(replXmlChangeTime([xml('pwdLastSet', '2026-01-02T03:04:05Z'), xml('unicodePwd', '2026-01-02T03:04:06Z')], 'unicodePwd')?.toISOString()).toBe('2026-01-02T03:04:06.000Z');
    expect(replXmlChangeTime([xml('pwdLastSet', '2026-01-02T03:04:05Z')], 'unicodePwd')).toBeNull();
    expect(replBlobChangeTime(Buffer.alloc(8), 0x9005a)).toBeNull();
  });

  it('members of Group Policy Creator Owners and builtin Replicator are privileged (by well-known RID / SID)', async (ctx) => {
    const env = requireSamba(ctx);
    const gpo = await freshUser(env, 'privgpo');
    const repl = await freshUser(env, 'privrepl');
    await asSambaAdmin(env, async (client) => {
      await client.modify(`CN=Group Policy Creator Owners,CN=Users,${env.baseDn}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [gpo.dn] }) }));
      await client.modify(`CN=Replicator,CN=Builtin,${env.baseDn}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [repl.dn] }) }));
    });
    const remediation = remediationFor(env);
    const first = await remediation.inspect('disable-ad-account', sam(gpo.sam), opts());
    expect(first).toMatchObject({ found: true, privileged: true, reasons: ['member of Group Policy Creator Owners'] });
    expect(first.identities).toEqual([{ system: 'activeDirectory', dn: gpo.dn, sid: expect.stringMatching(/^S-1-5-21-/), samAccountName: gpo.sam, domain: env.domain, userPrincipalName: `${gpo.sam}@${env.realm.toLowerCase()}` }]);
    expect(await remediation.inspect('reset-password', sam(repl.sam), opts())).toMatchObject({ found: true, privileged: true, reasons: ['member of Replicator'] });
  });
});

describe('AD remediation against Samba AD: errors in words', () => {
  it('password policy: a weak generated password is refused (test10 unchanged)', async (ctx) => {
    const env = requireSamba(ctx);
    const dn = staffDn(env, 'Test User10');
    const before = await readAttrs(env, dn);
    const error = await appError(remediationFor(env, { generatePassword: () => 'abc' }).run('reset-password', sam('test10'), opts()));
    expect(error.code).toBe('DIRECTORY_POLICY');
    expect(error.message).toBe('Could not reset the password of CORP\\test10 in AD: the new password was refused by the domain password policy.');
    expect(error.details).toMatchObject({ ldapCode: 19 });
    expect((await readAttrs(env, dn)).pwdLastSet).toBe(before.pwdLastSet);
  });

  it('insufficient rights: outsider lives outside the delegated OU', async (ctx) => {
    const env = requireSamba(ctx);
    const error = await appError(remediationFor(env).run('disable-ad-account', sam('outsider'), opts()));
    expect(error.code).toBe('DIRECTORY_RIGHTS');
    expect(error.message).toBe("Could not disable CORP\\outsider in AD: the bot's directory account is not allowed to change this account.");
    const readBack = await remediationFor(env).readBack('disable-ad-account', sam('outsider'), opts());
    expect(readBack).toBe('not-applied');
  });

  it('no such object', async (ctx) => {
    const env = requireSamba(ctx);
    const error = await appError(remediationFor(env).run('disable-ad-account', { accountKey: 'sam:corp\\nobody99', userPrincipalName: 'nobody99@corp.example.test' }, opts()));
    expect(error.code).toBe('DIRECTORY_NO_SUCH_OBJECT');
    expect(error.message).toBe('No account in Active Directory matches CORP\\nobody99.');
  });

  it('TLS required: a plain ldap:// bind is refused', async (ctx) => {
    const env = requireSamba(ctx);
    const error = await appError(remediationFor(env, { url: env.ldapPlainUrl, plainTransport: 'plain' }).run('disable-ad-account', sam('test06'), opts()));
    expect(error.code).toBe('DIRECTORY_TLS_REQUIRED');
    expect(error.message).toBe('Could not find CORP\\test06 in Active Directory: the directory requires an encrypted connection (LDAPS or StartTLS).');
  });

  describe('a directory that never answers', () => {
    let silent: Server;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      silent = createServer((socket) => void sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('times out within the configured deadline', async (ctx) => {
      const env = requireSamba(ctx);
      const port = (silent.address() as { port: number }).port;
      const started = Date.now();
      const error = await appError(remediationFor(env, { url: `ldaps://127.0.0.1:${port}`, timeoutMs: 400 }).run('disable-ad-account', sam('test06'), opts()));
      expect(error.code).toBe('TIMEOUT');
      expect(error.message).toContain('the directory did not answer within 400 ms');
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });
});

/** Adds `memberDn` to a group as the domain administrator. */
async function addToGroup(env: SambaEnv, groupDn: string, memberDn: string): Promise<void> {
  await asSambaAdmin(env, (client) => client.modify(groupDn, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [memberDn] }) })));
}

describe('AD remediation against Samba AD: issue 13 (privilege from tokenGroups, honest reset, no namesakes)', () => {
  it('with LDAP_BASE_DN set to an OU, members of Domain Admins (CN=Users) and Account Operators (CN=Builtin) are privileged', async (ctx) => {
    const env = requireSamba(ctx);
    const operator = await freshUser(env, 'acctop');
    await addToGroup(env, `CN=Account Operators,CN=Builtin,${env.baseDn}`, operator.dn);
    const plain = await freshUser(env, 'plainou');
    // The bot's search base is OU=Staff: neither group lies under it.
    const remediation = remediationFor(env, { baseDn: env.staffOu });
    const admin = await remediation.inspect('disable-ad-account', sam('padmin'), opts());
    expect(admin).toMatchObject({ found: true, privileged: true });
    expect(admin.reasons).toContain('member of Domain Admins');
    const nested = await remediation.inspect('disable-ad-account', sam('nnested'), opts());
    expect(nested).toMatchObject({ found: true, privileged: true });
    // tokenGroups holds the whole nesting: Domain Admins, and Administrators through it.
    expect(nested.reasons).toEqual(expect.arrayContaining(['member of Domain Admins', 'member of Administrators']));
    // No adminCount here (Samba runs no SDProp): only the group membership can tell.
    expect(await remediation.inspect('reset-password', sam(operator.sam), opts())).toMatchObject({ found: true, privileged: true, reasons: ['member of Account Operators'] });
    expect(await remediation.inspect('reset-password', sam(plain.sam), opts())).toMatchObject({ found: true, privileged: false, reasons: [] });
  });

  it('a reset of a "password never expires" account says AD will not force the change, read back from userAccountControl', async (ctx) => {
    const env = requireSamba(ctx);
    const { sam: name, dn } = await freshUser(env, 'neverexp');
    await asSambaAdmin(env, (client) => client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(512 | 0x10000)] }) })));
    const remediation = remediationFor(env);
    const dry = await remediation.run('reset-password', sam(name), { ...opts(), dryRun: true });
    expect(dry.summary).toBe(`DRY RUN: would reset the password of CORP\\${name} in AD (AD would not force a change at next logon: the account has "password never expires" set)`);
    const result = await remediation.run('reset-password', sam(name), opts());
    expect(result.summary).not.toContain('it must be changed at next logon');
    expect(result.summary).toBe(
      `Reset the password of CORP\\${name} in AD, but AD will NOT make the user change it at next logon: the account has "password never expires" set. ` +
        'The temporary password stays valid until someone changes it; clear "password never expires" on the account to make the change required.',
    );
    expect(result.details).toMatchObject({ changed: true, mustChangeAtNextLogon: false, userAccountControlAfter: 512 | 0x10000, forcedChangeNotEnforced: ['the account has "password never expires" set'] });
    const attrs = await readAttrs(env, dn);
    expect([attrs.userAccountControl, attrs.pwdLastSet]).toEqual([String(512 | 0x10000), '0']);
    // The proof that the old wording lied: the new password logs on without any forced change.
    expect(await sambaBindReason(env, dn, result.temporaryPassword!.reveal())).toBe('ok');
    expect((await sambaDirectory(env, capture.logger).getUser({ dn })).mustChangePassword).toBe(false);
  });

  it('an alert whose SID is unknown and whose name exists here but in another domain acts on nobody, and says so', async (ctx) => {
    const env = requireSamba(ctx);
    const remediation = remediationFor(env);
    const foreign: ActionTarget = { accountKey: 'sid:s-1-5-21-7-8-9-1107', sid: 'S-1-5-21-7-8-9-1107', samAccountName: 'test07', domain: 'OTHERDOM', userPrincipalName: 'test07@corp.example.test' };
    expect(await remediation.inspect('disable-ad-account', foreign, opts())).toMatchObject({ found: false });
    const error = await appError(remediation.run('disable-ad-account', foreign, opts()));
    expect(error.code).toBe('DIRECTORY_NO_SUCH_OBJECT');
    expect(error.message).toBe(
      'No account in Active Directory matches OTHERDOM\\test07; the bot acted on nobody: the name OTHERDOM\\test07 belongs to another domain than CORP; the UPN test07@corp.example.test was reported for domain OTHERDOM, not CORP.',
    );
    // A name without any domain is no better: it may be a namesake.
    const bare = await appError(remediation.run('disable-ad-account', { accountKey: 'sid:s-1-5-21-7-8-9-1107', samAccountName: 'test07' }, opts()));
    expect(bare.message).toContain('the name test07 comes without a domain');
    expect((await readAttrs(env, staffDn(env, 'Test User07'))).userAccountControl).toBe('512');
    // The alert's domain may also come as its DNS name.
    const byDns = await createRemediationRouter({
      activeDirectory: createAdRemediation({ directory: sambaDirectory(env, capture.logger), netbiosDomain: env.domain, dnsDomain: env.realm.toLowerCase() }),
    }).inspect('disable-ad-account', { accountKey: 'sid:s-1-5-21-7-8-9-1107', samAccountName: 'test07', domain: env.realm.toLowerCase() }, opts());
    expect(byDns).toMatchObject({ found: true, identities: [{ samAccountName: 'test07' }] });
  });

  it('acts on an account whose DN is longer than 256 characters and reads the change back', async (ctx) => {
    const env = requireSamba(ctx);
    const ous = ['Tier2 Regional Operations and Field Services Department', 'Northern Europe Branch Offices and Satellite Locations', 'Temporary Contractors and Seasonal Staff Members 2026'];
    let parent = env.staffOu;
    await asSambaAdmin(env, async (client) => {
      for (const ou of ous) {
        parent = `OU=${ou},${parent}`;
        await client.add(parent, [new Attribute({ type: 'objectClass', values: ['top', 'organizationalUnit'] })]).catch((error: { code?: number }) => {
          if (error.code !== 68) throw error; // already there from an earlier run of this DC
        });
      }
    });
    const name = `deepdn${randomBytes(3).toString('hex')}`;
    const dn = `CN=${name} with a rather long common name for a deep tree,${parent}`;
    expect(dn.length).toBeGreaterThan(256);
    await asSambaAdmin(env, (client) =>
      client.add(dn, [
        new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
        new Attribute({ type: 'sAMAccountName', values: [name] }),
        new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"Init-${randomBytes(9).toString('base64url')}-9aZ"`, 'utf16le')] }),
        new Attribute({ type: 'userAccountControl', values: ['512'] }),
      ]),
    );
    const remediation = remediationFor(env);
    const result = await remediation.run('disable-ad-account', sam(name), opts());
    expect(result.details).toMatchObject({ dn, changed: true, userAccountControlAfter: 514 });
    expect((await readAttrs(env, dn)).userAccountControl).toBe('514');
    expect(await remediation.readBack('disable-ad-account', sam(name), opts())).toBe('applied');
  });
});
