import { describe, expect, it } from 'vitest';
import { decideGuardRails, matchesAny, type GuardSettings } from '../../src/approvals/guard-rails.ts';
import type { ActionTarget, FoundIdentity, TargetInspection } from '../../src/domain/remediation.ts';

/**
 * Issue 4, the guard rails on what the directories FOUND: an alert may name the bot's own account
 * only by SID, or the bind DN's CN may differ from the sAMAccountName; service and protected
 * accounts must still be recognised.
 */

const BIND_DN = 'CN=Incident Bot,OU=ServiceAccounts,DC=corp,DC=example,DC=test';
const settings = (over: Partial<GuardSettings> = {}): GuardSettings => ({ protectedAccounts: [], serviceAccounts: [BIND_DN], protectedApprovals: 2, ...over });
const svcFound: FoundIdentity = {
  system: 'activeDirectory',
  dn: BIND_DN,
  sid: 'S-1-5-21-1-2-3-1105',
  samAccountName: 'svc-incidentbot',
  domain: 'CORP',
  userPrincipalName: 'svc-incidentbot@corp.example.test',
};
const inspection = (identities?: FoundIdentity[], over: Partial<TargetInspection> = {}): TargetInspection => ({ found: true, privileged: false, reasons: [], ...(identities ? { identities } : {}), ...over });
const bySid: ActionTarget = { accountKey: 'sid:s-1-5-21-1-2-3-1105', sid: 'S-1-5-21-1-2-3-1105' };

describe('guard rails match what the directory found', () => {
  it('refuses the LDAP bind account named by the alert only by its SID (found DN = bind DN)', () => {
    const decision = decideGuardRails('disable-ad-account', bySid, inspection([svcFound]), 1, settings(), 'S-1-5-21-1-2-3-1105');
    expect(decision).toEqual({ kind: 'refuse', reason: "S-1-5-21-1-2-3-1105 is one of the bot's own service accounts; the bot never acts on itself." });
  });

  it('refuses the bind account whose CN (Incident Bot) differs from its sAMAccountName, named by sam', () => {
    const target: ActionTarget = { accountKey: 'sam:corp\\svc-incidentbot', samAccountName: 'svc-incidentbot', domain: 'CORP' };
    // The DN as the directory spells it: other case, spaces after commas.
    const found = { ...svcFound, dn: 'cn=incident bot, ou=serviceaccounts, dc=corp, dc=example, dc=test' };
    expect(decideGuardRails('reset-password', target, inspection([found]), 1, settings(), 'CORP\\svc-incidentbot')).toMatchObject({ kind: 'refuse' });
    expect(matchesAny(target, [BIND_DN], [found])).toBe(BIND_DN);
  });

  it('matches SERVICE_ACCOUNTS names against the found sam, UPN, SID or Entra object id', () => {
    for (const entry of ['svc-incidentbot', 'CORP\\svc-incidentbot', 'SVC-INCIDENTBOT@corp.example.test', 's-1-5-21-1-2-3-1105']) {
      expect(decideGuardRails('revoke-sessions', { accountKey: 'upn:someone.else@corp.example.test' }, inspection([svcFound]), 1, settings({ serviceAccounts: [entry] }), 'x')).toMatchObject({ kind: 'refuse' });
    }
    const entraFound: FoundIdentity = { system: 'entra', entraObjectId: '0f0f0f0f-1111-4222-8333-444455556666', userPrincipalName: 'svc-graph@corp.example.test' };
    expect(decideGuardRails('suspend-okta', { accountKey: 'upn:alias@corp.example.test' }, inspection([entraFound]), 1, settings({ serviceAccounts: ['0F0F0F0F-1111-4222-8333-444455556666'] }), 'x')).toMatchObject({ kind: 'refuse' });
  });

  it('a DN is compared whole: the same CN in another OU is not the bind account', () => {
    const other = { ...svcFound, dn: 'CN=Incident Bot,OU=Staff,DC=corp,DC=example,DC=test', sid: 'S-1-5-21-1-2-3-2000', samAccountName: 'ibot', userPrincipalName: 'ibot@corp.example.test' };
    expect(decideGuardRails('disable-ad-account', { accountKey: 'sid:s-1-5-21-1-2-3-2000' }, inspection([other]), 1, settings(), 'x')).toEqual({ kind: 'allow', requiredApprovals: 1 });
  });

  it('PROTECTED_ACCOUNTS listed by UPN applies when the alert named the account only by SID', () => {
    const decision = decideGuardRails('disable-ad-account', bySid, inspection([svcFound]), 1, settings({ serviceAccounts: [], protectedAccounts: ['svc-incidentbot@corp.example.test'] }), 'x');
    expect(decision).toEqual({ kind: 'allow', requiredApprovals: 2 });
    const refused = decideGuardRails('disable-ad-account', bySid, inspection([svcFound]), 1, settings({ serviceAccounts: [], protectedAccounts: ['svc-incidentbot@corp.example.test'], protectedApprovals: 'refuse' }), 'x');
    expect(refused).toMatchObject({ kind: 'refuse', reason: 'x is a protected account (listed in PROTECTED_ACCOUNTS); contain it by hand.' });
  });

  it('the key of a card-data target (only accountKey) is an identifier too', () => {
    expect(decideGuardRails('disable-ad-account', { accountKey: 'sam:corp\\svc-incidentbot' }, inspection(), 1, settings({ serviceAccounts: ['svc-incidentbot'] }), 'x')).toMatchObject({ kind: 'refuse' });
  });

  it('privilege reasons from any system refuse under PROTECTED_ACCOUNT_APPROVALS=refuse', () => {
    const privileged = inspection([], { privileged: true, reasons: ['member of Domain Admins (Active Directory)'] });
    expect(decideGuardRails('suspend-okta', { accountKey: 'upn:padmin@corp.example.test' }, privileged, 1, settings({ protectedApprovals: 'refuse' }), 'padmin@corp.example.test')).toEqual({
      kind: 'refuse',
      reason: 'padmin@corp.example.test is a protected account (member of Domain Admins (Active Directory)); contain it by hand.',
    });
  });
});
