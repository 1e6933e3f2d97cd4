import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAzureCredential } from '../../src/adapters/azure/azure-credential.ts';
import { createGraphClient, type GraphClient } from '../../src/adapters/graph/graph-client.ts';
import { createMdiIdentityAccounts } from '../../src/adapters/graph/mdi-identity-accounts.ts';
import { createMdiRemediation } from '../../src/adapters/graph/mdi-remediation.ts';
import type { ActionTarget } from '../../src/domain/remediation.ts';
import { Secret } from '../../src/observability/logger.ts';
import { appError } from '../support/failures.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import type { EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { mdiIdentityOf } from '../../sim/graph/identity-accounts-routes.ts';
import { startTokensAndGraph, type GraphServer } from '../../sim/graph/graph-server.ts';
import { addUser, createDemoTenant, findOktaUser, type DemoTenant, type TenantUser } from '../../sim/tenant.ts';

/**
 * Defender for Identity's response actions through the real SDKs (the bot's credential and Graph
 * client) against the Graph stand-in's identityAccounts: resolution, invokeAction's documented
 * body, the refusals of the service, the asynchronous effect, the read-back.
 */

const clientId = 'a1b2c3d4-0000-4000-8000-0000000000d1';
const readOnlyClientId = 'a1b2c3d4-0000-4000-8000-0000000000d2';
const noMdiClientId = 'a1b2c3d4-0000-4000-8000-0000000000d3';
const secret = randomBytes(24).toString('base64url');
const capture = captureLogger();
let demo: DemoTenant;
let tokens: EntraTokenServer;
let graph: GraphServer;
let counter = 0;

function client(id = clientId, maxRetries = 0): GraphClient {
  const credential = createAzureCredential({ tenantId: demo.tenant.tenantId, clientId: id, clientSecret: new Secret(secret), managedIdentity: false, authorityHost: tokens.url }, { timeoutMs: 5_000 });
  return createGraphClient({ credential, endpoint: graph.url, timeoutMs: 5_000, logger: capture.logger, retryDelaySeconds: 1, maxRetries });
}
const mdi = (id?: string, maxRetries = 0) => createMdiRemediation({ accounts: createMdiIdentityAccounts(client(id, maxRetries)), offerCacheMs: 0 });
const opts = (dryRun = false) => ({ dryRun, log: capture.logger });
const bySid = (user: TenantUser): ActionTarget => ({ accountKey: `sid:${user.onPremisesSecurityIdentifier}`, sid: user.onPremisesSecurityIdentifier as string, samAccountName: user.onPremisesSamAccountName as string, domain: 'CORP' });
const byEntraId = (user: TenantUser): ActionTarget => ({ accountKey: `entra:${user.id}`, entraObjectId: user.id });
const synced = (okta = false) => addUser(demo.tenant, { name: `mdi.user${++counter}`, okta });

async function waitFor<T>(probe: () => T | undefined | false, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  demo = createDemoTenant();
  ({ tokens, graph } = await startTokensAndGraph(demo.tenant, [
    { clientId, clientSecret: secret },
    { clientId: readOnlyClientId, clientSecret: secret, roles: ['SecurityIdentitiesAccount.Read.All'] },
    { clientId: noMdiClientId, clientSecret: secret, roles: ['User.Read.All'] },
  ]));
  graph.mdi.delayMs = 300;
});

afterAll(async () => {
  await Promise.all([tokens?.close(), graph?.close()]);
  expect(capture.text()).not.toContain(secret);
});

describe('MDI executor against the identityAccounts stand-in', () => {
  it('disables an AD account: one invokeAction with the documented body, "requested" at once, the effect only after the delay, read back from MDI', async () => {
    const user = synced();
    const remediation = mdi();
    const result = await remediation.run('disable-ad-account', bySid(user), opts());
    expect(graph.mdi.invocations.filter((i) => i.accountId === user.onPremisesObjectGuid)).toEqual([
      expect.objectContaining({ identityId: mdiIdentityOf(user).id, accountId: user.onPremisesObjectGuid, action: 'disable', identityProvider: 'activeDirectory' }),
    ]);
    expect(result.requested?.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.summary).toBe(`Disable CORP\\${user.onPremisesSamAccountName} in AD: requested in Defender (correlation id ${result.requested?.correlationId}) via Defender for Identity`);
    expect(result.details).toMatchObject({ executor: 'mdi', correlationId: result.requested?.correlationId, mdiAction: 'disable', identityProvider: 'activeDirectory' });
    // Asynchronous, as the real service: not yet applied right after the answer.
    expect(await remediation.readBack('disable-ad-account', bySid(user), opts())).toBe('not-applied');
    await waitFor(() => !mdiIdentityOf(user).adEnabled);
    expect(await remediation.readBack('disable-ad-account', bySid(user), opts())).toBe('applied');
    // Now MDI lists enable, not disable, for that account.
    expect(await remediation.offerable?.('disable-ad-account', bySid(user), opts())).toBe(false);
    expect(await remediation.offerable?.('enable-ad-account', bySid(user), opts())).toBe(true);
  });

  it('resolves an account without SID by its Entra object id, and runs Entra and Okta actions on the right accounts', async () => {
    const user = synced(true);
    const remediation = mdi();
    await remediation.run('mark-compromised', byEntraId(user), opts());
    await remediation.run('suspend-okta', byEntraId(user), opts());
    const okta = findOktaUser(demo.tenant, user.userPrincipalName);
    const mine = graph.mdi.invocations.filter((i) => i.identityId === mdiIdentityOf(user).id);
    expect(mine.map((i) => [i.action, i.identityProvider, i.accountId])).toEqual([
      ['markUserAsCompromised', 'entraID', user.id],
      ['disable', 'okta', okta?.id],
    ]);
    await waitFor(() => user.riskState === 'confirmedCompromised' && okta?.status === 'SUSPENDED');
  });

  it('a dry run resolves the account and checks the action is listed, and sends nothing', async () => {
    const user = synced();
    const before = graph.mdi.invocations.length;
    const result = await mdi().run('reset-password', bySid(user), opts(true));
    expect(result.summary).toMatch(/^DRY RUN: would ask Defender for Identity to force a password reset of .* no temporary password is set or delivered\)$/);
    expect(result.temporaryPassword).toBeUndefined();
    expect(graph.mdi.invocations.length).toBe(before);
  });

  it('an action the account does not list is refused before anything is sent; inspect says why', async () => {
    const user = synced();
    mdiIdentityOf(user).withheld.add('activeDirectory:forcePasswordReset');
    const remediation = mdi();
    const before = graph.mdi.invocations.length;
    const error = await appError(remediation.run('reset-password', bySid(user), opts()));
    expect(error.code).toBe('ACTION_NOT_APPLICABLE');
    expect(error.message).toMatch(/does not offer to force a password reset .* \(its account lists: disable\)/);
    expect((await remediation.inspect('reset-password', bySid(user), opts())).unavailable).toMatch(/does not offer/);
    expect(await remediation.offerable?.('reset-password', bySid(user), opts())).toBe(false);
    expect(graph.mdi.invocations.length).toBe(before);
  });

  it('an alert naming a SID MDI does not know never resolves to another account by the same UPN', async () => {
    const user = synced();
    const remediation = mdi();
    const impostor: ActionTarget = { accountKey: 'sid:s-1-5-21-9-9-9-4242', sid: 'S-1-5-21-9-9-9-4242', userPrincipalName: user.userPrincipalName, entraObjectId: user.id };
    expect((await remediation.inspect('disable-ad-account', impostor, opts())).found).toBe(false);
    expect((await appError(remediation.run('disable-ad-account', impostor, opts()))).message).toMatch(/does not know/);
    expect(graph.mdi.invocations.filter((i) => i.identityId === mdiIdentityOf(user).id)).toEqual([]);
  });

  it('an identity MDI never observed is not found (inspect) and not run', async () => {
    const user = synced();
    mdiIdentityOf(user).unobserved = true;
    const remediation = mdi();
    expect((await remediation.inspect('disable-ad-account', bySid(user), opts())).found).toBe(false);
    expect((await appError(remediation.run('disable-ad-account', bySid(user), opts()))).message).toMatch(/does not know/);
  });

  it('missing permissions: listing needs SecurityIdentitiesAccount.Read.All, invoking SecurityIdentitiesActions.ReadWrite.All', async () => {
    const user = synced();
    const none = await appError(mdi(noMdiClientId).inspect('disable-ad-account', bySid(user), opts()));
    expect(none.code).toBe('UPSTREAM_FORBIDDEN');
    expect(none.message).toContain('SecurityIdentitiesAccount.Read.All');
    const readOnly = await appError(mdi(readOnlyClientId).run('disable-ad-account', bySid(user), opts()));
    expect(readOnly.code).toBe('UPSTREAM_FORBIDDEN');
    expect(readOnly.message).toContain('SecurityIdentitiesActions.ReadWrite.All');
    expect(mdiIdentityOf(user).adEnabled).toBe(true);
  });
});

describe('invokeAction is never repeated when it may have been accepted', () => {
  it('a 503 is reported, not retried; a 429 (not processed) is retried once and then runs once', async () => {
    const user = synced();
    const isInvoke = (req: { path: string; method: string }) => req.method === 'POST' && req.path.endsWith('/invokeAction');
    const requestsBefore = graph.requests.filter(isInvoke).length;
    graph.faults.push({ match: isInvoke, status: 503, times: 1 });
    // A client that retries 5xx elsewhere (the bot's default) still sends this POST once.
    const failed = await appError(mdi(undefined, 2).run('disable-ad-account', bySid(user), opts()));
    expect(failed.code).toBe('UPSTREAM_ERROR');
    expect(failed.message).toContain('Defender may have accepted it all the same: check its Action center before asking again.');
    expect(graph.requests.filter(isInvoke).length - requestsBefore).toBe(1);
    graph.faults.push({ match: isInvoke, status: 429, retryAfterSeconds: 0, times: 1 });
    await mdi(undefined, 2).run('disable-ad-account', bySid(user), opts());
    expect(graph.requests.filter(isInvoke).length - requestsBefore).toBe(3);
    expect(graph.mdi.invocations.filter((i) => i.identityId === mdiIdentityOf(user).id)).toHaveLength(1);
  });
});

describe('the stand-in refuses what the service refuses', () => {
  const invoke = async (id: string, body: unknown) => client().api(`/security/identities/identityAccounts/${id}/invokeAction`).post(body).then(
    () => 200,
    (error: { statusCode?: number }) => error.statusCode,
  );

  it('wrong action for the provider, unknown account or identity, bad body', async () => {
    const user = synced();
    const id = mdiIdentityOf(user).id;
    const guid = user.onPremisesObjectGuid as string;
    const before = graph.mdi.invocations.length;
    expect(await invoke(id, { accountId: guid, action: 'markUserAsCompromised', identityProvider: 'activeDirectory' })).toBe(400);
    expect(await invoke(id, { accountId: user.id, action: 'forcePasswordReset', identityProvider: 'entraID' })).toBe(400);
    expect(await invoke(id, { accountId: user.id, action: 'disable', identityProvider: 'activeDirectory' })).toBe(404);
    expect(await invoke('00000000-0000-4000-8000-000000000000', { accountId: guid, action: 'disable', identityProvider: 'activeDirectory' })).toBe(404);
    expect(await invoke(id, { accountId: guid, action: 'Disable!', identityProvider: 'activeDirectory' })).toBe(400);
    expect(await invoke(id, { accountId: guid, action: 'disable' })).toBe(400);
    expect(await invoke(id, { accountId: guid, action: 'disable', identityProvider: 'activeDirectory', password: 'x' })).toBe(400);
    expect(await invoke(id, [1, 2])).toBe(400);
    expect(graph.mdi.invocations.length).toBe(before);
    expect(mdiIdentityOf(user).adEnabled).toBe(true);
  });

  it('list: $filter on onPremisesSecurityIdentifier as documented, $select on list and get; an unsupported filter or unknown property is a 400', async () => {
    const user = synced();
    const page = (await client().api('/security/identities/identityAccounts').filter(`onPremisesSecurityIdentifier eq '${user.onPremisesSecurityIdentifier}'`).get()) as { value: { id: string; accounts: unknown[] }[] };
    expect(page.value.map((v) => v.id)).toEqual([mdiIdentityOf(user).id]);
    const bad = await client().api('/security/identities/identityAccounts').filter(`startswith(displayName,'a')`).get().then(() => 200, (error: { statusCode?: number }) => error.statusCode);
    expect(bad).toBe(400);
    const one = (await client().api(`/security/identities/identityAccounts/${mdiIdentityOf(user).id}`).select(['accounts']).get()) as Record<string, unknown>;
    expect(Object.keys(one).filter((k) => !k.startsWith('@odata'))).toEqual(['accounts']);
    const unknownProperty = await client().api('/security/identities/identityAccounts').select(['password']).get().then(() => 200, (error: { statusCode?: number }) => error.statusCode);
    expect(unknownProperty).toBe(400);
  });
});
