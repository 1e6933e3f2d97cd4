import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientSecretCredential } from '@azure/identity';
import { Client, GraphError, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { decodeJwt, type EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { startTokensAndGraph, type GraphServer } from '../../sim/graph/graph-server.ts';
import { startOktaServer, type OktaServer } from '../../sim/okta/okta-server.ts';
import { addUser, createDemoTenant, findOktaUser, putAlert, updateAlert, type DemoTenant } from '../../sim/tenant.ts';
import { mdiAlert, mdiAlertSeries, unknownEvidence } from '../../sim/graph/graph-alert-factory.ts';
import { rejectionOf } from '../support/failures.ts';

/**
 * The local cloud driven by the REAL SDKs: MSAL (through @azure/identity) against the token
 * endpoint, @microsoft/microsoft-graph-client against Graph, plain fetch against Okta.
 */

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const clientId = 'a1b2c3d4-0000-4000-8000-00000000b0b0';
const readOnlyClientId = 'a1b2c3d4-0000-4000-8000-00000000ead0';
// Generated per run: nothing secret is committed.
const secret = randomBytes(24).toString('base64url');
const readOnlySecret = randomBytes(24).toString('base64url');
const oktaToken = `00${randomBytes(20).toString('base64url')}`;

let demo: DemoTenant;
let tokens: EntraTokenServer;
let graph: GraphServer;
let okta: OktaServer;

function credential(id = clientId, pw = secret): ClientSecretCredential {
  return new ClientSecretCredential(demo.tenant.tenantId, id, pw, { authorityHost: tokens.url, disableInstanceDiscovery: true });
}

/** customHosts null = leave it out, as a client that forgot the gotcha would. */
function graphClient(cred = credential(), customHosts: Set<string> | null = new Set(['127.0.0.1'])): Client {
  const authProvider = new TokenCredentialAuthenticationProvider(cred, { scopes: [GRAPH_SCOPE] });
  return Client.initWithMiddleware({ authProvider, baseUrl: graph.url, defaultVersion: 'v1.0', ...(customHosts ? { customHosts } : {}) });
}

const graphFailure = (promise: Promise<unknown>) => rejectionOf(promise, GraphError);

beforeAll(async () => {
  demo = createDemoTenant();
  ({ tokens, graph } = await startTokensAndGraph(
    demo.tenant,
    [
      { clientId, clientSecret: secret },
      { clientId: readOnlyClientId, clientSecret: readOnlySecret, roles: ['SecurityAlert.Read.All', 'User.Read.All'] },
    ],
    { alertPageSize: 50 },
  ));
  okta = await startOktaServer({ apiToken: oktaToken, tenant: demo.tenant });
});

afterAll(async () => {
  await Promise.all([tokens?.close(), graph?.close(), okta?.close()]);
});

describe('Entra token endpoint through ClientSecretCredential', () => {
  it('issues a Graph token and a Log Analytics token, each bound to its audience', async () => {
    const cred = credential();
    const graphToken = await cred.getToken(GRAPH_SCOPE);
    const laToken = await cred.getToken('https://api.loganalytics.io/.default');
    expect(decodeJwt(graphToken.token)?.payload).toMatchObject({ aud: 'https://graph.microsoft.com', tid: demo.tenant.tenantId, appid: clientId });
    expect(decodeJwt(laToken.token)?.payload.aud).toBe('https://api.loganalytics.io');
    expect(graphToken.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3000_000);
    expect(tokens.verifyBearer(`Bearer ${graphToken.token}`, 'https://graph.microsoft.com').ok).toBe(true);
    expect(tokens.verifyBearer(`Bearer ${laToken.token}`, 'https://graph.microsoft.com')).toMatchObject({ ok: false, reason: 'wrong_audience' });
    // MSAL discovered the endpoints from the OpenID document, then posted client credentials.
    expect(tokens.requests.some((r) => r.path === `/${demo.tenant.tenantId}/v2.0/.well-known/openid-configuration`)).toBe(true);
    const post = tokens.requests.find((r) => r.method === 'POST');
    expect(post?.body).toMatchObject({ grant_type: 'client_credentials', client_id: clientId, scope: GRAPH_SCOPE });
  });

  it('refuses a wrong secret with invalid_client / AADSTS7000215', async () => {
    const error = await credential(clientId, 'not-the-secret').getToken(GRAPH_SCOPE).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // @azure/identity 4.14 reports MSAL's invalid_client as AuthenticationRequiredError.
    expect(error?.name).toBe('AuthenticationRequiredError');
    expect(error?.message).toContain('AADSTS7000215');
    const reply = await fetch(`${tokens.url}/${demo.tenant.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'nope', scope: GRAPH_SCOPE }),
      signal: AbortSignal.timeout(5000),
    });
    expect(reply.status).toBe(401);
    expect(await reply.json()).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
  });
});

describe('Graph alerts_v2 through @microsoft/microsoft-graph-client', () => {
  const cutoff = new Date('2026-11-20T08:00:00.000Z');
  let expectedIds: string[] = [];

  beforeAll(() => {
    // 7 MDI alerts after the cutoff, 2 before it, 2 from another product after it.
    const recent = mdiAlertSeries(7, new Date(cutoff.getTime() + 60_000), { tenantId: demo.tenant.tenantId, accounts: [demo.people.alice] });
    const old = mdiAlertSeries(2, new Date(cutoff.getTime() - 3600_000), { tenantId: demo.tenant.tenantId });
    const endpoint = mdiAlertSeries(2, new Date(cutoff.getTime() + 90_000), { overrides: { serviceSource: 'microsoftDefenderForEndpoint' } });
    for (const alert of [...recent, ...old, ...endpoint]) putAlert(demo.tenant, alert);
    expectedIds = recent.map((a) => a.id);
  });

  it('lists the filtered MDI alerts across 3 pages by following @odata.nextLink', async () => {
    const client = graphClient();
    const filter = `serviceSource eq 'microsoftDefenderForIdentity' and lastUpdateDateTime ge ${cutoff.toISOString()}`;
    const before = graph.requests.length;
    let page = await client.api('/security/alerts_v2').filter(filter).top(3).orderby('lastUpdateDateTime asc').get();
    const seen: string[] = [];
    let pages = 0;
    for (;;) {
      pages++;
      seen.push(...(page.value as Array<{ id: string }>).map((a) => a.id));
      const next = page['@odata.nextLink'] as string | undefined;
      if (!next) break;
      expect(next.startsWith(`${graph.url}/v1.0/security/alerts_v2?`)).toBe(true);
      page = await client.api(next).get();
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(expectedIds);
    const calls = graph.requests.slice(before);
    expect(calls).toHaveLength(3);
    expect(calls.every((r) => String(r.headers.authorization).startsWith('Bearer '))).toBe(true);
  });

  it('serves an updated alert again to a gt filter after its lastUpdateDateTime moves', async () => {
    const client = graphClient();
    const since = new Date().toISOString();
    const target = expectedIds[0] as string;
    updateAlert(demo.tenant, target, { status: 'inProgress' }, new Date(Date.now() + 1000));
    const page = await client.api('/security/alerts_v2').filter(`serviceSource eq 'microsoftDefenderForIdentity' and lastUpdateDateTime gt ${since}`).get();
    expect((page.value as Array<{ id: string; status: string }>).map((a) => [a.id, a.status])).toEqual([[target, 'inProgress']]);
  });

  it('refuses filters Graph would refuse with 400 BadRequest', async () => {
    const client = graphClient();
    const quotedDate = await graphFailure(client.api('/security/alerts_v2').filter("lastUpdateDateTime ge '2026-11-20T08:00:00Z'").get());
    expect([quotedDate.statusCode, quotedDate.code]).toEqual([400, 'BadRequest']);
    const unknownProperty = await graphFailure(client.api('/security/alerts_v2').filter("title eq 'x'").get());
    expect(unknownProperty.statusCode).toBe(400);
    const orFilter = await graphFailure(client.api('/security/alerts_v2').filter("severity eq 'high' or severity eq 'medium'").get());
    expect(orFilter.statusCode).toBe(400);
  });

  it('answers 401 InvalidAuthenticationToken without a token (as the SDK sends none for unknown hosts)', async () => {
    const error = await graphFailure(graphClient(credential(), null).api('/security/alerts_v2').get());
    expect([error.statusCode, error.code]).toEqual([401, 'InvalidAuthenticationToken']);
    const raw = await fetch(`${graph.url}/v1.0/security/alerts_v2`, { signal: AbortSignal.timeout(5000) });
    const body = (await raw.json()) as { error: { code: string; innerError: Record<string, string> } };
    expect(raw.status).toBe(401);
    expect(body.error.innerError).toHaveProperty('request-id');
    expect(body.error.innerError).toHaveProperty('date');
  });

  it('sends 429 with Retry-After; the SDK waits and retries, or surfaces it with retries off', async () => {
    const client = graphClient();
    graph.faults.push({ match: (r) => r.path.endsWith('/alerts_v2'), status: 429, retryAfterSeconds: 1, times: 1 });
    const before = graph.requests.length;
    const started = Date.now();
    await client.api('/security/alerts_v2').filter("serviceSource eq 'microsoftDefenderForIdentity'").get();
    expect(graph.requests.length - before).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    graph.faults.push({ match: (r) => r.path.endsWith('/alerts_v2'), status: 429, retryAfterSeconds: 7, times: 1 });
    const error = await graphFailure(client.api('/security/alerts_v2').middlewareOptions([new RetryHandlerOptions(0, 0)]).get());
    expect([error.statusCode, error.code]).toEqual([429, 'TooManyRequests']);
    expect(error.headers?.get('retry-after')).toBe('7');
  });

  it('serves alerts with no account, several accounts, unknown enums and unknown evidence untouched', async () => {
    const odd = mdiAlert({ kind: 'dcsync', accounts: [], severity: 'critical', status: 'unknownFutureValue', extraEvidence: [unknownEvidence()], nulls: true, createdDateTime: '2030-01-01T00:00:00Z' });
    const many = mdiAlert({ kind: 'ldapEnumeration', accounts: [demo.people.bob, demo.people.erin, { accountName: 'ghost', roles: ['attacker'] }], createdDateTime: '2030-01-01T00:01:00Z' });
    putAlert(demo.tenant, odd);
    putAlert(demo.tenant, many);
    const page = await graphClient().api('/security/alerts_v2').filter('createdDateTime ge 2030-01-01T00:00:00Z').orderby('createdDateTime asc').get();
    const [a, b] = page.value as Array<Record<string, unknown> & { evidence: Array<Record<string, unknown>> }>;
    expect(a).toMatchObject({ id: odd.id, severity: 'critical', status: 'unknownFutureValue', description: null });
    expect(a?.evidence.some((e) => e['@odata.type'] === '#microsoft.graph.security.userEvidence')).toBe(false);
    expect(a?.evidence.at(-1)?.['@odata.type']).toBe('#microsoft.graph.security.kubernetesSecretEvidence');
    expect(b?.evidence.filter((e) => e['@odata.type'] === '#microsoft.graph.security.userEvidence')).toHaveLength(3);
  });

  it('updates an alert and appends a comment (SecurityAlert.ReadWrite.All), bumping lastUpdateDateTime', async () => {
    const client = graphClient();
    const alert = putAlert(demo.tenant, mdiAlert({ kind: 'goldenTicket', createdDateTime: '2026-11-01T00:00:00Z' }));
    const updated = await client.api(`/security/alerts_v2/${alert.id}`).patch({ status: 'inProgress', assignedTo: 'incident-bot' });
    expect(updated).toMatchObject({ id: alert.id, status: 'inProgress', assignedTo: 'incident-bot' });
    expect(Date.parse(updated.lastUpdateDateTime)).toBeGreaterThan(Date.parse(alert.lastUpdateDateTime));
    const comments = await client.api(`/security/alerts_v2/${alert.id}/comments`).post({ '@odata.type': 'microsoft.graph.security.alertComment', comment: 'Contained by incident-bot' });
    expect((comments.value as Array<{ comment: string }>).map((c) => c.comment)).toEqual(['Contained by incident-bot']);
    const invalid = await graphFailure(client.api(`/security/alerts_v2/${alert.id}`).patch({ severity: 'low' }));
    expect(invalid.statusCode).toBe(400);
  });
});

describe('Graph identity through @microsoft/microsoft-graph-client', () => {
  it('refuses to disable a synced user with the documented 400, disables a cloud-only one', async () => {
    const client = graphClient();
    const { alice, erin } = demo.people;
    const error = await graphFailure(client.api(`/users/${alice.id}`).patch({ accountEnabled: false }));
    expect([error.statusCode, error.code]).toEqual([400, 'Request_BadRequest']);
    expect(error.message).toBe('Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.');
    expect(alice.accountEnabled).toBe(true);

    await client.api(`/users/${erin.id}`).patch({ accountEnabled: false });
    expect(erin.accountEnabled).toBe(false);
    const fetched = await client.api(`/users/${erin.userPrincipalName}`).select(['accountEnabled', 'onPremisesSyncEnabled', 'displayName']).get();
    expect(fetched).toMatchObject({ accountEnabled: false, onPremisesSyncEnabled: null, displayName: erin.displayName });
    expect(graph.actions.at(-1)).toMatchObject({ kind: 'disableUser', target: erin.id, appId: clientId });
  });

  it('returns on-premises identifiers only on $select, and 404 for an unknown user', async () => {
    const client = graphClient();
    const plain = await client.api(`/users/${demo.people.alice.id}`).get();
    expect(plain).not.toHaveProperty('onPremisesSamAccountName');
    const selected = await client.api(`/users/${demo.people.alice.id}`).select('onPremisesSamAccountName,onPremisesSecurityIdentifier,onPremisesDomainName').get();
    expect(selected).toMatchObject({ onPremisesSamAccountName: 'alice.martin', onPremisesDomainName: 'corp.example.test' });
    expect(String(selected.onPremisesSecurityIdentifier)).toMatch(/^S-1-5-21-\d+-\d+-\d+-1104$/);
    const missing = await graphFailure(client.api('/users/nobody@corp.example.test').get());
    expect([missing.statusCode, missing.code]).toEqual([404, 'Request_ResourceNotFound']);
  });

  it('filters users with OData string literals and refuses sAMAccountName without advanced query', async () => {
    const client = graphClient();
    const obrien = addUser(demo.tenant, { name: 'sean.obrien', displayName: "Seán O'Brien" });
    const byName = await client.api('/users').filter("startswith(displayName,'Seán O''B')").get();
    expect((byName.value as Array<{ id: string }>).map((u) => u.id)).toEqual([obrien.id]);
    const byUpn = await client.api('/users').filter(`userPrincipalName eq '${obrien.userPrincipalName.toUpperCase()}'`).get();
    expect(byUpn.value).toHaveLength(1);
    const refused = await graphFailure(client.api('/users').filter("onPremisesSamAccountName eq 'sean.obrien'").get());
    expect([refused.statusCode, refused.code]).toEqual([400, 'Request_UnsupportedQuery']);
    const advanced = await client.api('/users').header('ConsistencyLevel', 'eventual').query({ $count: 'true' }).filter("onPremisesSamAccountName eq 'sean.obrien'").get();
    expect(advanced['@odata.count']).toBe(1);
    const bad = await graphFailure(client.api('/users').filter("endswith(mail,'example.test')").get());
    expect(bad.statusCode).toBe(400);
  });

  it('revokes sessions, confirms compromise, and checks nested group membership', async () => {
    const client = graphClient();
    const { bob, carol } = demo.people;
    const revoked = await client.api(`/users/${bob.id}/revokeSignInSessions`).post({});
    expect(revoked.value).toBe(true);
    expect(Date.parse(bob.signInSessionsValidFromDateTime)).toBeGreaterThan(Date.now() - 60_000);

    await client.api('/identityProtection/riskyUsers/confirmCompromised').post({ userIds: [bob.id] });
    const risky = await client.api(`/identityProtection/riskyUsers/${bob.id}`).get();
    expect(risky).toMatchObject({ riskLevel: 'high', riskState: 'confirmedCompromised' });

    const { socApprovers, tier0 } = demo.groups;
    const member = await client.api(`/users/${carol.id}/checkMemberGroups`).post({ groupIds: [socApprovers.id, tier0.id] });
    expect(member.value).toEqual([socApprovers.id]);
    const tooMany = await graphFailure(client.api(`/users/${carol.id}/checkMemberGroups`).post({ groupIds: Array.from({ length: 21 }, () => socApprovers.id) }));
    expect(tooMany.statusCode).toBe(400);
  });

  it('answers 403 Authorization_RequestDenied when the app lacks the permission', async () => {
    const client = graphClient(credential(readOnlyClientId, readOnlySecret));
    const { frank } = { frank: [...demo.tenant.users.values()].find((u) => u.onPremisesSyncEnabled === null && u.accountEnabled && u.id !== demo.people.erin.id) };
    const error = await graphFailure(client.api(`/users/${frank?.id}`).patch({ accountEnabled: false }));
    expect([error.statusCode, error.code]).toEqual([403, 'Authorization_RequestDenied']);
    expect(frank?.accountEnabled).toBe(true);
    const forbidden = await graphFailure(client.api('/identityProtection/riskyUsers/confirmCompromised').post({ userIds: [demo.people.bob.id] }));
    expect(forbidden.statusCode).toBe(403);
    // ...while what it may do still works.
    await expect(client.api('/security/alerts_v2').top(1).get()).resolves.toHaveProperty('value');
  });
});

describe('Okta users API with fetch', () => {
  const call = (path: string, init: RequestInit = {}, token = oktaToken) =>
    fetch(`${okta.url}${path}`, {
      ...init,
      headers: { Authorization: `SSWS ${token}`, Accept: 'application/json', 'Content-Type': 'application/json' },
      signal: AbortSignal.timeout(3000),
    });

  it('suspends, unsuspends and clears sessions, with Okta state changes and errors', async () => {
    const alice = findOktaUser(demo.tenant, demo.people.alice.userPrincipalName);
    expect(alice?.status).toBe('ACTIVE');
    const byLogin = await call(`/api/v1/users/${encodeURIComponent(demo.people.alice.userPrincipalName)}`);
    expect(byLogin.status).toBe(200);
    expect(byLogin.headers.get('x-rate-limit-limit')).toBe('600');
    expect(Number(byLogin.headers.get('x-rate-limit-remaining'))).toBeLessThan(600);
    const id = ((await byLogin.json()) as { id: string }).id;
    expect(id).toBe(alice?.id);

    expect((await call(`/api/v1/users/${id}/lifecycle/suspend`, { method: 'POST' })).status).toBe(200);
    expect(alice?.status).toBe('SUSPENDED');
    const again = await call(`/api/v1/users/${id}/lifecycle/suspend`, { method: 'POST' });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ errorCode: 'E0000001', errorLink: 'E0000001', errorCauses: [{ errorSummary: 'Cannot suspend a user that is not active' }] });
    expect((await call(`/api/v1/users/${id}/lifecycle/unsuspend`, { method: 'POST' })).status).toBe(200);
    expect(alice?.status).toBe('ACTIVE');

    expect((await call(`/api/v1/users/${id}/sessions?oauthTokens=true`, { method: 'DELETE' })).status).toBe(204);
    expect(alice?.sessionCount).toBe(0);
    expect(alice?.oauthTokenCount).toBe(0);
    expect(okta.actions.map((a) => a.kind)).toEqual(['suspend', 'unsuspend', 'clearSessions']);

    const unknown = await call('/api/v1/users/nobody@corp.example.test');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { errorCode: string }).errorCode).toBe('E0000007');
  });

  it('refuses a wrong token with 401 E0000011 and can throttle or stall', async () => {
    const wrong = await call('/api/v1/users/anyone', {}, 'wrong-token');
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { errorCode: string }).errorCode).toBe('E0000011');

    okta.faults.push({ status: 429, times: 1 });
    const throttled = await call(`/api/v1/users/${demo.people.bob.userPrincipalName}`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('x-rate-limit-remaining')).toBe('0');
    expect(((await throttled.json()) as { errorCode: string }).errorCode).toBe('E0000047');

    okta.faults.push({ delayMs: 1500, times: 1 });
    const stalled = await fetch(`${okta.url}/api/v1/users/${demo.people.bob.userPrincipalName}`, {
      headers: { Authorization: `SSWS ${oktaToken}` },
      signal: AbortSignal.timeout(300),
    }).then(
      () => 'answered',
      (e: unknown) => (e as Error).name,
    );
    expect(stalled).toBe('TimeoutError');
  });
});
