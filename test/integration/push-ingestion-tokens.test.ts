import { createServer, type Server } from 'node:http';
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEntraCallerTokenVerifier } from '../../src/adapters/azure/entra-caller-token.ts';

// The webhook's token verifier against an issuer the test controls completely (its OpenID
// metadata and JWKS served on loopback), for what the Entra stand-in never issues: delegated (user)
// tokens, v2 tokens, tokens not valid yet, rolled keys, metadata that points elsewhere.

const TENANT = '7d1c0b7e-2f7a-4b55-9b61-0c7e3e2a9f10';
const AUDIENCE = 'api://incident-bot-alerts';
const CALLER = { appId: 'c0ffee00-1111-4222-8333-444455556666', oid: '0b1ec700-1111-4222-8333-444455556666' };

interface Key {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}
const newKey = (): Key => ({ kid: randomUUID(), ...generateKeyPairSync('rsa', { modulusLength: 2048 }) });

let server: Server;
let base = '';
let published: Key[] = [];
let jwksOverride: string | undefined;
let metadataReads = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
      metadataReads++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: `${base}/${TENANT}/v2.0`, jwks_uri: jwksOverride ?? `${base}/${TENANT}/discovery/v2.0/keys` }));
      return;
    }
    if (req.url === `/${TENANT}/discovery/v2.0/keys`) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published.map((k) => ({ kty: 'RSA', use: 'sig', kid: k.kid, ...k.publicKey.export({ format: 'jwk' }) })) }));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  published = [newKey()];
  jwksOverride = undefined;
  metadataReads = 0;
  clockOffsetMs = 0;
});

function token(claims: Record<string, unknown>, key: Key = published[0]!, header: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const h = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: key.kid, ...header })).toString('base64url');
  const p = Buffer.from(JSON.stringify({ aud: AUDIENCE, iss: `https://sts.windows.net/${TENANT}/`, tid: TENANT, appid: CALLER.appId, oid: CALLER.oid, iat: now, nbf: now, exp: now + 3600, ver: '1.0', ...claims })).toString('base64url');
  return `${h}.${p}.${sign('sha256', Buffer.from(`${h}.${p}`), key.privateKey).toString('base64url')}`;
}

let clockOffsetMs = 0;
const verifier = (allowed: string[] = [CALLER.oid]) =>
  createEntraCallerTokenVerifier({ authorityHost: base, tenantId: TENANT, audiences: [AUDIENCE], allowedCallers: allowed, timeoutMs: 2000, now: () => new Date(Date.now() + clockOffsetMs) });

describe('Entra caller tokens', () => {
  it('accepts a v1 app token of a listed caller, and a v2 one (azp, the v2 issuer)', async () => {
    const v = verifier([CALLER.appId]);
    expect(await v.verify(token({}))).toEqual({ ok: true, caller: { appId: CALLER.appId, objectId: CALLER.oid, tenantId: TENANT } });
    expect(await v.verify(token({ appid: undefined, azp: CALLER.appId, ver: '2.0', iss: `${base}/${TENANT}/v2.0` }))).toMatchObject({ ok: true });
  });

  it('refuses a delegated (user) token, one not valid yet, an issuer of another tenant, and a token without a key id', async () => {
    const v = verifier();
    expect(await v.verify(token({ scp: 'user_impersonation' }))).toMatchObject({ ok: false, reason: expect.stringContaining('delegated') });
    expect(await v.verify(token({ nbf: Math.floor(Date.now() / 1000) + 3600 }))).toMatchObject({ ok: false, reason: expect.stringContaining('not valid yet') });
    expect(await v.verify(token({ iss: 'https://sts.windows.net/11111111-1111-1111-1111-111111111111/' }))).toMatchObject({ ok: false, reason: expect.stringContaining('issuer') });
    expect(await v.verify(token({}, published[0], { kid: undefined }))).toMatchObject({ ok: false });
    expect(await v.verify(token({}, published[0], { alg: 'HS256' }))).toMatchObject({ ok: false });
  });

  it('follows a key roll (an unknown kid re-reads the keys) but does not re-read for every forged kid', async () => {
    const v = verifier();
    expect(await v.verify(token({}))).toMatchObject({ ok: true });
    expect(metadataReads).toBe(1);
    // Entra rolls its key: the new kid is read once the last read is a minute old.
    const rolled = newKey();
    published = [rolled];
    clockOffsetMs = 61_000;
    expect(await v.verify(token({}, rolled))).toMatchObject({ ok: true });
    expect(metadataReads).toBe(2);
    // A flood of tokens with made-up key ids costs at most one read a minute.
    for (let i = 0; i < 5; i++) expect(await v.verify(token({}, newKey()))).toMatchObject({ ok: false, reason: expect.stringContaining('does not publish') });
    expect(metadataReads).toBe(2);
    clockOffsetMs = 122_000;
    expect(await v.verify(token({}, newKey()))).toMatchObject({ ok: false });
    expect(metadataReads).toBe(3);
    // And the keys are read again after a day whatever the tokens say.
    clockOffsetMs = 25 * 3_600_000;
    expect(await v.verify(token({ exp: Math.floor((Date.now() + clockOffsetMs) / 1000) + 3600 }, rolled))).toMatchObject({ ok: true });
    expect(metadataReads).toBe(4);
  });

  it('refuses keys published on another host, and answers "unavailable" (not the caller\'s fault) when the issuer is down', async () => {
    jwksOverride = 'https://keys.example.net/keys';
    expect(await verifier().verify(token({}))).toMatchObject({ ok: false, unavailable: true });
    const down = createEntraCallerTokenVerifier({ authorityHost: 'http://127.0.0.1:9', tenantId: TENANT, audiences: [AUDIENCE], allowedCallers: [CALLER.oid], timeoutMs: 500 });
    expect(await down.verify(token({}))).toMatchObject({ ok: false, unavailable: true });
  });
});
