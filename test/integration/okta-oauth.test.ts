import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOktaClient } from '../../src/adapters/okta/okta-client.ts';
import { createOktaRemediation } from '../../src/adapters/okta/okta-remediation.ts';
import type { OktaOAuthOptions } from '../../src/adapters/okta/okta-oauth.ts';
import { Secret } from '../../src/observability/logger.ts';
import { appError } from '../support/failures.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { startOktaServer, type OktaServer } from '../../sim/okta/okta-server.ts';
import { addUser, createDemoTenant, findOktaUser, type DemoTenant } from '../../sim/tenant.ts';

/**
 * Okta the recommended way: an OAuth 2.0 service app authenticated with private_key_jwt, scoped
 * tokens, against the stand-in's org authorization server (keys generated at test time).
 */

const capture = captureLogger();
const pem = (key: { publicKey: string; privateKey: string }) => key;
const appKeys = pem(generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }));
const otherKeys = pem(generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }));
const MANAGER = '0oa1manager0000000001';
const READER = '0oa1reader00000000002';
let demo: DemoTenant;
let okta: OktaServer;

function oauthClient(oauth: Partial<OktaOAuthOptions> = {}) {
  return createOktaClient({
    orgUrl: okta.url,
    oauth: { clientId: MANAGER, privateKeyPem: new Secret(appKeys.privateKey), keyId: 'kid-manager', ...oauth },
    timeoutMs: 3_000,
    logger: capture.logger,
    maxRetries: 0,
  });
}

const opts = () => ({ dryRun: false, log: capture.logger });
const person = (name: string) => {
  const user = addUser(demo.tenant, { name, synced: false, okta: true });
  return { target: { accountKey: `upn:${user.userPrincipalName}`, userPrincipalName: user.userPrincipalName }, login: user.userPrincipalName };
};
const tokenRequests = () => okta.requests.filter((r) => r.path === '/oauth2/v1/token');

function jwt(header: object, claims: object, privateKey: string): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

async function postToken(form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${okta.url}/oauth2/v1/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  demo = createDemoTenant();
  okta = await startOktaServer({
    tenant: demo.tenant,
    serviceApps: [
      { clientId: MANAGER, publicKeyPem: appKeys.publicKey, keyId: 'kid-manager', grantedScopes: ['okta.users.read', 'okta.users.manage'] },
      { clientId: READER, publicKeyPem: appKeys.publicKey, grantedScopes: ['okta.users.read'] },
    ],
  });
});

afterAll(async () => {
  await okta?.close();
  expect(capture.text()).not.toContain(appKeys.privateKey.split('\n')[1]);
});

describe('Okta through an OAuth 2.0 service app (private_key_jwt)', () => {
  it('gets a scoped token with a verified client assertion, caches it, and suspends with forgetDevices=false', async () => {
    const { target, login } = person('oli.oauth');
    const before = tokenRequests().length;
    const remediation = createOktaRemediation({ client: oauthClient() });
    const result = await remediation.run('suspend-okta', target, opts());
    expect(result.summary).toContain(`Suspended ${login} in Okta`);
    expect(findOktaUser(demo.tenant, login)).toMatchObject({ status: 'SUSPENDED', sessionCount: 0 });
    expect(okta.actions.at(-1)).toMatchObject({ kind: 'clearSessions', oauthTokens: true, forgetDevices: false });
    // One token for the three calls; the assertion is what Okta documents.
    const sent = tokenRequests().slice(before);
    expect(sent).toHaveLength(1);
    const form = new URLSearchParams(sent[0]!.rawBody);
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('scope')).toBe('okta.users.read okta.users.manage');
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const [header, claims] = String(form.get('client_assertion')).split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>);
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid-manager' });
    expect(claims).toMatchObject({ iss: MANAGER, sub: MANAGER, aud: `${okta.url}/oauth2/v1/token`, jti: expect.any(String) });
    expect(Number(claims!.exp) - Number(claims!.iat)).toBe(300);
    const apiCalls = okta.requests.filter((r) => r.path.startsWith('/api/v1/users/')).slice(-3);
    expect(apiCalls.every((r) => String(r.headers.authorization).startsWith('Bearer '))).toBe(true);
  });

  it('a replayed client assertion is refused', async () => {
    person('rex.replay');
    await oauthClient().getUser('rex.replay@corp.example.test');
    const used = new URLSearchParams(tokenRequests().at(-1)!.rawBody);
    const replay = await postToken(Object.fromEntries(used));
    expect(replay).toMatchObject({ status: 401, body: { error: 'invalid_client', error_description: 'The client_assertion token has already been used.' } });
  });

  it('an assertion signed by another key, for another audience, or expired gets no token; the bot says so without the key', async () => {
    const { target, login } = person('kim.key');
    const wrongKey = await appError(createOktaRemediation({ client: oauthClient({ privateKeyPem: new Secret(otherKeys.privateKey) }) }).run('suspend-okta', target, opts()));
    expect(wrongKey.code).toBe('UPSTREAM_FORBIDDEN');
    expect(wrongKey.message).toContain("Okta refused the bot's OAuth service app 0oa1manager0000000001 (invalid_client: The client_assertion signature is invalid.)");
    expect(wrongKey.message).not.toContain('PRIVATE KEY');
    expect(findOktaUser(demo.tenant, login)?.status).toBe('ACTIVE');
    const now = Math.floor(Date.now() / 1000);
    const base = { iss: MANAGER, sub: MANAGER, iat: now, exp: now + 300 };
    const form = (claims: object) => ({ grant_type: 'client_credentials', scope: 'okta.users.read', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt({ alg: 'RS256' }, claims, appKeys.privateKey) });
    expect((await postToken(form({ ...base, aud: 'https://other.okta.example/oauth2/v1/token', jti: randomUUID() }))).body.error_description).toBe('The audience [aud] claim is invalid.');
    expect((await postToken(form({ ...base, aud: `${okta.url}/oauth2/v1/token`, exp: now - 1, jti: randomUUID() }))).body.error_description).toBe('The client_assertion token is expired.');
    expect((await postToken(form({ ...base, aud: `${okta.url}/oauth2/v1/token`, sub: READER, jti: randomUUID() }))).status).toBe(401);
    expect((await postToken(form({ ...base, aud: `${okta.url}/oauth2/v1/token`, jti: randomUUID() }))).status).toBe(200);
  });

  it('scopes are enforced: an app granted only okta.users.read gets no manage token, and a read-only token cannot suspend', async () => {
    const { target, login } = person('rea.reader');
    const asked = await appError(createOktaRemediation({ client: oauthClient({ clientId: READER, keyId: undefined }) }).run('suspend-okta', target, opts()));
    expect(asked.message).toContain('(invalid_scope: The following scopes are not allowed: okta.users.manage)');
    const readOnly = oauthClient({ clientId: READER, keyId: undefined, scopes: ['okta.users.read'] });
    expect((await readOnly.getUser(login)).login).toBe(login);
    const denied = await appError(createOktaRemediation({ client: readOnly }).run('suspend-okta', target, opts()));
    expect(denied.code).toBe('UPSTREAM_FORBIDDEN');
    expect(denied.message).toContain('grant it the okta.users.manage and okta.users.read scopes');
    expect(findOktaUser(demo.tenant, login)?.status).toBe('ACTIVE');
  });

  it('a made-up bearer token and a missing credential are refused', async () => {
    const made = await fetch(`${okta.url}/api/v1/users/${encodeURIComponent('rea.reader@corp.example.test')}`, { headers: { Authorization: 'Bearer made-up' } });
    expect(made.status).toBe(401);
    expect(() => createOktaClient({ orgUrl: okta.url, timeoutMs: 1000, logger: capture.logger })).toThrow(/OAuth service app .* or an API token/);
    expect(() => oauthClient({ privateKeyPem: new Secret('not a key') })).toThrow(/not a readable PEM private key/);
  });
});
