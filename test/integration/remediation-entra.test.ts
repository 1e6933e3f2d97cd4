import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { gate } from '../support/gate.ts';
import { createAzureCredential } from '../../src/adapters/azure/azure-credential.ts';
import { createGraphClient, type CreateGraphClientOptions } from '../../src/adapters/graph/graph-client.ts';
import { createGraphIdentityActions, type GraphIdentityActionsOptions } from '../../src/adapters/graph/graph-identity-actions.ts';
import type { ActionTarget } from '../../src/domain/remediation.ts';
import { Secret } from '../../src/observability/logger.ts';
import { appError } from '../support/failures.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { DEFAULT_APP_ROLES, type EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { passwordProfileOf } from '../../sim/graph/users-routes.ts';
import { startTokensAndGraph, type GraphServer } from '../../sim/graph/graph-server.ts';
import { addUser, assignRole, createDemoTenant, GLOBAL_ADMINISTRATOR_ROLE, type DemoTenant, type TenantUser } from '../../sim/tenant.ts';

/**
 * Entra ID containment through the real SDKs (@azure/identity + @microsoft/microsoft-graph-client,
 * via the bot's own credential and client factories) against the local token and Graph servers;
 * every effect is read back from the simulated tenant.
 */

const clientId = 'a1b2c3d4-0000-4000-8000-00000000c0de';
const readOnlyClientId = 'a1b2c3d4-0000-4000-8000-00000000ead1';
const secret = randomBytes(24).toString('base64url');
const readOnlySecret = randomBytes(24).toString('base64url');
/** An app granted the opt-in force-password-reset-entra permission on top of the defaults. */
const passwordClientId = 'a1b2c3d4-0000-4000-8000-0000000000f0';
const passwordSecret = randomBytes(24).toString('base64url');
const capture = captureLogger();
let demo: DemoTenant;
let tokens: EntraTokenServer;
let graph: GraphServer;

function actions(overrides: { client?: Partial<CreateGraphClientOptions>; id?: string; secret?: string; actions?: Partial<GraphIdentityActionsOptions> } = {}) {
  const credential = createAzureCredential(
    { tenantId: demo.tenant.tenantId, clientId: overrides.id ?? clientId, clientSecret: new Secret(overrides.secret ?? secret), managedIdentity: false, authorityHost: tokens.url },
    { timeoutMs: 5_000 },
  );
  const client = createGraphClient({ credential, endpoint: graph.url, timeoutMs: 5_000, logger: capture.logger, retryDelaySeconds: 1, maxRetries: 2, ...overrides.client });
  return createGraphIdentityActions({ client, identityProtectionSpacingMs: 0, ...overrides.actions });
}

const opts = () => ({ dryRun: false, log: capture.logger });
const byUpn = (user: TenantUser): ActionTarget => ({ accountKey: `upn:${user.userPrincipalName}` });
const byId = (user: TenantUser): ActionTarget => ({ accountKey: `entra:${user.id}`, entraObjectId: user.id });
let counter = 0;
const cloudUser = (prefix: string) => addUser(demo.tenant, { name: `${prefix}.${++counter}`, synced: false });
const syncedUser = (prefix: string) => addUser(demo.tenant, { name: `${prefix}.${++counter}` });

beforeAll(async () => {
  demo = createDemoTenant();
  ({ tokens, graph } = await startTokensAndGraph(demo.tenant, [
    { clientId, clientSecret: secret },
    { clientId: readOnlyClientId, clientSecret: readOnlySecret, roles: ['User.Read.All', 'IdentityRiskyUser.Read.All'] },
    { clientId: passwordClientId, clientSecret: passwordSecret, roles: [...DEFAULT_APP_ROLES, 'User-PasswordProfile.ReadWrite.All'] },
  ]));
});

afterAll(async () => {
  await Promise.all([tokens?.close(), graph?.close()]);
  expect(capture.text()).not.toContain(secret);
  expect(capture.text()).not.toContain(passwordSecret);
});

describe('Entra remediation: actions and undo, read back from the tenant', () => {
  it('disables a cloud-only user found by UPN, reads it back, and enables it again', async () => {
    const user = cloudUser('cloud');
    const remediation = actions();
    const result = await remediation.run('suspend-entra', byUpn(user), opts());
    expect(result.summary).toBe(`Disabled ${user.userPrincipalName} in Entra ID`);
    expect(result.details).toMatchObject({ system: 'entra', entraObjectId: user.id, accountEnabledBefore: true, changed: true });
    expect(user.accountEnabled).toBe(false);
    expect(graph.actions.at(-1)).toMatchObject({ kind: 'disableUser', target: user.id, appId: clientId });
    expect(await remediation.readBack('suspend-entra', byUpn(user), opts())).toBe('applied');
    // Idempotent: a second click changes nothing.
    const again = await remediation.run('suspend-entra', byId(user), opts());
    expect(again.summary).toContain('already disabled');

    const undo = await remediation.run('enable-entra', byId(user), opts());
    expect(undo.summary).toBe(`Enabled ${user.userPrincipalName} in Entra ID`);
    expect(user.accountEnabled).toBe(true);
    expect(await remediation.readBack('suspend-entra', byUpn(user), opts())).toBe('not-applied');
    expect(await remediation.readBack('enable-entra', byUpn(user), opts())).toBe('applied');
  });

  it('refuses to disable a user synced from AD, naming the AD actions to use instead', async () => {
    const user = syncedUser('synced');
    const remediation = actions();
    const inspection = await remediation.inspect('suspend-entra', byId(user), opts());
    expect(inspection).toMatchObject({ found: true, syncedFromAd: true, privileged: false });
    const before = graph.actions.length;
    const error = await appError(remediation.run('suspend-entra', byId(user), opts()));
    expect(error.code).toBe('ACTION_NOT_APPLICABLE');
    expect(error.message).toBe(`${user.userPrincipalName} is synced from AD (${user.onPremisesSamAccountName}), so Entra ID cannot disable it: use disable-ad-account and revoke-sessions instead.`);
    expect(error.details).toMatchObject({ syncedFromAd: true, alternatives: ['disable-ad-account', 'revoke-sessions'] });
    expect(user.accountEnabled).toBe(true);
    expect(graph.actions.length).toBe(before);
  });

  it('revokes sign-in sessions and reads it back against the start time', async () => {
    const user = syncedUser('revoke');
    const remediation = actions();
    const since = new Date();
    const result = await remediation.run('revoke-sessions', byId(user), opts());
    expect(result.summary).toContain(`Revoked the sign-in sessions of ${user.userPrincipalName}`);
    expect(graph.actions.at(-1)).toMatchObject({ kind: 'revokeSignInSessions', target: user.id });
    expect(Date.parse(user.signInSessionsValidFromDateTime)).toBeGreaterThanOrEqual(Math.floor(since.getTime() / 1000) * 1000);
    expect(await remediation.readBack('revoke-sessions', byId(user), { ...opts(), since })).toBe('applied');
    expect(await remediation.readBack('revoke-sessions', byId(user), { ...opts(), since: new Date(Date.now() + 5_000) })).toBe('not-applied');
    expect(await remediation.readBack('revoke-sessions', byId(user), opts())).toBe('unknown');
  });

  it('marks a user compromised and dismisses the risk, read back from Identity Protection', async () => {
    const user = syncedUser('risky');
    const remediation = actions();
    expect(await remediation.readBack('mark-compromised', byUpn(user), opts())).toBe('not-applied');
    const result = await remediation.run('mark-compromised', byUpn(user), opts());
    expect(result.summary).toBe(`Marked ${user.userPrincipalName} as compromised in Entra ID Protection (user risk high)`);
    expect(result.details).toMatchObject({ riskStateBefore: 'never-scored', changed: true });
    expect([user.riskState, user.riskLevel]).toEqual(['confirmedCompromised', 'high']);
    expect(await remediation.readBack('mark-compromised', byUpn(user), opts())).toBe('applied');
    expect(await remediation.readBack('dismiss-risk', byUpn(user), opts())).toBe('not-applied');

    const undo = await remediation.run('dismiss-risk', byUpn(user), opts());
    expect(undo.summary).toBe(`Dismissed the user risk of ${user.userPrincipalName} in Entra ID Protection`);
    expect(user.riskState).toBe('dismissed');
    expect(await remediation.readBack('dismiss-risk', byUpn(user), opts())).toBe('applied');
    expect(await remediation.readBack('mark-compromised', byUpn(user), opts())).toBe('not-applied');
  });

  it('spaces Identity Protection calls (1 request per second per tenant)', async () => {
    const user = syncedUser('paced');
    const remediation = actions({ actions: { identityProtectionSpacingMs: 400 } });
    const started = Date.now();
    await remediation.run('mark-compromised', byId(user), opts()); // GET riskyUser + POST: two slots
    await remediation.readBack('mark-compromised', byId(user), opts()); // a third
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  it('reports privileged membership from configured Entra groups', async () => {
    const { dave, bob } = demo.people;
    const remediation = actions({ actions: { privilegedGroups: [{ id: demo.groups.tier0.id, name: 'Tier 0 Admins' }] } });
    expect(await remediation.inspect('revoke-sessions', byId(dave), opts())).toEqual({
      found: true,
      privileged: true,
      reasons: ['member of the privileged Entra group Tier 0 Admins'],
      syncedFromAd: true,
      // What Entra found, for the guard rails (an alert may name the account differently).
      identities: [{ system: 'entra', entraObjectId: dave.id, userPrincipalName: dave.userPrincipalName, sid: dave.onPremisesSecurityIdentifier, samAccountName: dave.onPremisesSamAccountName, ...(dave.onPremisesDistinguishedName ? { dn: dave.onPremisesDistinguishedName } : {}) }],
    });
    expect(await remediation.inspect('revoke-sessions', byId(bob), opts())).toMatchObject({ found: true, privileged: false, reasons: [] });
    expect(await remediation.inspect('revoke-sessions', { accountKey: 'upn:ghost@corp.example.test' }, opts())).toMatchObject({ found: false });
  });

  it('dry run reads the user and its risk but changes nothing', async () => {
    const user = cloudUser('dry');
    const remediation = actions();
    const before = graph.actions.length;
    const suspend = await remediation.run('suspend-entra', byUpn(user), { ...opts(), dryRun: true });
    expect(suspend.summary).toBe(`DRY RUN: would disable ${user.userPrincipalName} in Entra ID`);
    const mark = await remediation.run('mark-compromised', byUpn(user), { ...opts(), dryRun: true });
    expect(mark.summary).toBe(`DRY RUN: would mark ${user.userPrincipalName} as compromised in Entra ID Protection`);
    const revoke = await remediation.run('revoke-sessions', byUpn(user), { ...opts(), dryRun: true });
    expect(revoke.details).toMatchObject({ dryRun: true, changed: false });
    expect(graph.actions.length).toBe(before);
    expect([user.accountEnabled, user.riskState, user.signInSessionsValidFromDateTime]).toEqual([true, 'none', '2026-01-05T08:00:00Z']);
    expect(graph.requests.filter((r) => r.method !== 'GET' && r.path.includes(user.id))).toEqual([]);
  });
});

describe('Entra remediation: errors in words', () => {
  it('403 names the missing application permission', async () => {
    const user = cloudUser('forbidden');
    const readOnly = actions({ id: readOnlyClientId, secret: readOnlySecret });
    const cases = [
      ['revoke-sessions', 'User.RevokeSessions.All'],
      ['mark-compromised', 'IdentityRiskyUser.ReadWrite.All'],
      ['suspend-entra', 'User.EnableDisableAccount.All'],
    ] as const;
    for (const [action, permission] of cases) {
      const error = await appError(readOnly.run(action, byId(user), opts()));
      expect(error.code, action).toBe('UPSTREAM_FORBIDDEN');
      expect(error.message, action).toContain(`grant it the ${permission} application permission`);
      expect(error.details.status, action).toBe(403);
    }
    expect([user.accountEnabled, user.riskState]).toEqual([true, 'none']);
  });

  it('404: no such user in Entra ID (by id, then UPN)', async () => {
    const error = await appError(actions().run('revoke-sessions', { accountKey: 'entra:00000000-0000-4000-8000-000000000000', userPrincipalName: 'ghost@corp.example.test' }, opts()));
    expect(error.code).toBe('UPSTREAM_NOT_FOUND');
    expect(error.message).toBe('No such user in Entra ID: ghost@corp.example.test.');
    // An unknown id falls back to the UPN.
    const user = cloudUser('fallback');
    const result = await actions().run('revoke-sessions', { accountKey: 'entra:00000000-0000-4000-8000-000000000000', userPrincipalName: user.userPrincipalName }, opts());
    expect(result.details.entraObjectId).toBe(user.id);
  });

  it('429 from Identity Protection without Retry-After is retried with backoff', async () => {
    const user = syncedUser('throttled');
    graph.faults.push({ match: (r) => r.method === 'POST' && r.path.endsWith('/riskyUsers/confirmCompromised'), status: 429, times: 1 });
    const before = graph.requests.length;
    const started = Date.now();
    await actions().run('mark-compromised', byId(user), opts());
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(graph.requests.slice(before).filter((r) => r.path.endsWith('/confirmCompromised'))).toHaveLength(2);
    expect(user.riskState).toBe('confirmedCompromised');
  });

  it('429 after every retry becomes UPSTREAM_THROTTLED', async () => {
    const user = cloudUser('throttled');
    graph.faults.push({ match: (r) => r.path.endsWith('/revokeSignInSessions'), status: 429, times: 3 });
    const error = await appError(actions({ client: { maxRetries: 1 } }).run('revoke-sessions', byId(user), opts()));
    expect(error.code).toBe('UPSTREAM_THROTTLED');
    expect(error.message).toContain('Microsoft Graph is throttling the app');
    graph.faults.length = 0;
  });

  it('a Graph call that stalls ends in TIMEOUT', async () => {
    const user = cloudUser('stalled');
    // Graph holds the request until the test ends: only the 300 ms timeout can end the call.
    const stall = gate();
    onTestFinished(() => stall.open());
    graph.faults.push({ match: (r) => r.method === 'GET' && r.path.includes(user.id), until: stall.opened, times: 1 });
    const started = Date.now();
    const error = await appError(actions({ client: { timeoutMs: 300 } }).run('suspend-entra', byId(user), opts()));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain('did not answer in time');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(user.accountEnabled).toBe(true);
  });
});

describe('force-password-reset-entra: passwordProfile.forceChangePasswordNextSignIn through Graph', () => {
  const withPasswordPermission = () => actions({ id: passwordClientId, secret: passwordSecret });
  const rawClient = (id: string, clientSecret: string) =>
    createGraphClient({
      credential: createAzureCredential({ tenantId: demo.tenant.tenantId, clientId: id, clientSecret: new Secret(clientSecret), managedIdentity: false, authorityHost: tokens.url }, { timeoutMs: 5_000 }),
      endpoint: graph.url,
      timeoutMs: 5_000,
      logger: capture.logger,
      retryDelaySeconds: 1,
      maxRetries: 0,
    });

  it('requires a cloud-only user to change the password at next sign-in, and reads the flag back', async () => {
    const user = cloudUser('pwd');
    const remediation = withPasswordPermission();
    expect(remediation.supports('force-password-reset-entra')).toBe(true);
    expect(await remediation.readBack('force-password-reset-entra', byUpn(user), opts())).toBe('not-applied');
    const dry = await remediation.run('force-password-reset-entra', byUpn(user), { ...opts(), dryRun: true });
    expect(dry.summary).toBe(`DRY RUN: would require ${user.userPrincipalName} to change the password at next sign-in in Entra ID`);
    expect(passwordProfileOf(user).forceChangePasswordNextSignIn).toBe(false);

    const result = await remediation.run('force-password-reset-entra', byId(user), opts());
    expect(result.summary).toBe(`Required ${user.userPrincipalName} to change the password at next sign-in in Entra ID`);
    expect(result.details).toMatchObject({ system: 'entra', entraObjectId: user.id, changed: true });
    expect(result.temporaryPassword).toBeUndefined();
    expect(passwordProfileOf(user).forceChangePasswordNextSignIn).toBe(true);
    expect(user.accountEnabled).toBe(true);
    const patch = graph.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/users/${user.id}`)).at(-1);
    expect(patch?.body).toEqual({ passwordProfile: { forceChangePasswordNextSignIn: true } });
    expect(await remediation.readBack('force-password-reset-entra', byUpn(user), opts())).toBe('applied');
  });

  it('refuses a user synced from AD (its password is mastered there), naming reset-password; nothing changes', async () => {
    const user = syncedUser('pwd-synced');
    const error = await appError(withPasswordPermission().run('force-password-reset-entra', byId(user), opts()));
    expect(error.code).toBe('ACTION_NOT_APPLICABLE');
    expect(error.message).toBe(`${user.userPrincipalName} is synced from AD, so its password is mastered there: use reset-password instead.`);
    expect(error.details).toMatchObject({ syncedFromAd: true, alternatives: ['reset-password'] });
    expect(passwordProfileOf(user).forceChangePasswordNextSignIn).toBe(false);
    // The stand-in refuses it too, whoever asks: Graph's documented 400 for on-premises mastered users.
    const direct = await rawClient(passwordClientId, passwordSecret).api(`/users/${user.id}`).patch({ passwordProfile: { forceChangePasswordNextSignIn: true } }).then(() => 'accepted', (e: { statusCode?: number; message?: string }) => `${e.statusCode} ${e.message}`);
    expect(direct).toMatch(/^400 Unable to update the specified properties for on-premises mastered/);
    expect(passwordProfileOf(user).forceChangePasswordNextSignIn).toBe(false);
  });

  it('without User-PasswordProfile.ReadWrite.All: 403, the sentence names the permission; nothing changes', async () => {
    const user = cloudUser('pwd-denied');
    // The default app holds User.EnableDisableAccount.All and User.RevokeSessions.All, neither of which is enough.
    const error = await appError(actions().run('force-password-reset-entra', byId(user), opts()));
    expect(error.code).toBe('UPSTREAM_FORBIDDEN');
    expect(error.message).toContain('User-PasswordProfile.ReadWrite.All');
    expect(passwordProfileOf(user).forceChangePasswordNextSignIn).toBe(false);
  });

  it('a Global Administrator target: Graph refuses without a higher admin role, and the sentence says why', async () => {
    const admin = cloudUser('pwd-admin');
    assignRole(demo.tenant, admin.id, GLOBAL_ADMINISTRATOR_ROLE);
    const error = await appError(withPasswordPermission().run('force-password-reset-entra', byId(admin), opts()));
    expect(error.code).toBe('UPSTREAM_FORBIDDEN');
    expect(error.message).toContain('holds the privileged role Global Administrator');
    expect(passwordProfileOf(admin).forceChangePasswordNextSignIn).toBe(false);
  });

  it('the stand-in refuses hostile bodies as Graph does: wrong types, unknown keys, a password it never echoes', async () => {
    const user = cloudUser('pwd-hostile');
    const client = rawClient(passwordClientId, passwordSecret);
    const status = (body: unknown) => client.api(`/users/${user.id}`).patch(body).then(() => 204, (e: { statusCode?: number }) => e.statusCode);
    expect(await status({ passwordProfile: 'force' })).toBe(400);
    expect(await status({ passwordProfile: { forceChangePasswordNextSignIn: 'yes' } })).toBe(400);
    expect(await status({ passwordProfile: { forceChangePasswordNextSignIn: true, admin: true } })).toBe(400);
    expect(passwordProfileOf(user).forceChangePasswordNextSignIn).toBe(false);
    const secretPassword = `Pw-${randomBytes(9).toString('base64url')}`;
    expect(await status({ passwordProfile: { password: secretPassword, forceChangePasswordNextSignIn: true } })).toBe(204);
    const read = (await client.api(`/users/${user.id}`).select(['passwordProfile']).get()) as { passwordProfile: Record<string, unknown> };
    expect(read.passwordProfile).toEqual({ password: null, forceChangePasswordNextSignIn: true, forceChangePasswordNextSignInWithMfa: false });
  });
});
