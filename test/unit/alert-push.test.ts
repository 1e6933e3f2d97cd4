import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import type { CallerTokenVerifier } from '../../src/domain/ports/caller-token-verifier.ts';
import type { LeaseStore } from '../../src/domain/ports/lease-store.ts';
import { createAlertPushAuth, pushSignature, PUSH_SIGNATURE_HEADER, PUSH_TIMESTAMP_HEADER, type PushAdmission } from '../../src/http/alert-push-auth.ts';
import { parsePushedAlertRef } from '../../src/notifier/pushed-alert-ref.ts';

// The webhook's pure parts: which alert a body names, and the signed-push checks (a unit fake of
// the LeaseStore port and of the token verifier port; the real ones are in the integration tests).

const SECRET = 'a-shared-secret-of-at-least-32-characters!';
const NOW = new Date('2026-12-03T12:00:00Z');
const ts = (offsetSeconds = 0) => String(Math.floor(NOW.getTime() / 1000) + offsetSeconds);

function memoryLeases(): LeaseStore {
  const leases = new Map<string, { holder: string; expires: number }>();
  return {
    async tryAcquireLease(name, holder, ttlMs) {
      const lease = leases.get(name);
      if (lease && lease.holder !== holder && lease.expires > NOW.getTime()) return false;
      leases.set(name, { holder, expires: NOW.getTime() + ttlMs });
      return true;
    },
    async renewLease() {
      return false;
    },
    async releaseLease() {
      return false;
    },
    async purgeExpiredLeases(prefix) {
      const expired = [...leases].filter(([name, lease]) => name.startsWith(prefix) && lease.expires <= NOW.getTime());
      for (const [name] of expired) leases.delete(name);
      return expired.length;
    },
  };
}

function auth(entra?: CallerTokenVerifier) {
  return createAlertPushAuth({ leases: memoryLeases(), hmac: { secret: SECRET, windowSeconds: 120 }, now: () => NOW, ...(entra ? { entra } : {}) });
}

async function signedPush(a: ReturnType<typeof auth>, body: string, headers: Record<string, string>): Promise<PushAdmission> {
  const first = await a.admitHeaders(headers);
  if (!first.ok) return first;
  return a.admitBody(first.caller, Buffer.from(body));
}

const signed = (body: string, timestamp = ts(), secret = SECRET) => ({ [PUSH_TIMESTAMP_HEADER]: timestamp, [PUSH_SIGNATURE_HEADER]: `sha256=${pushSignature(secret, timestamp, body)}` });

describe('pushed alert reference', () => {
  it.each([
    [{ alertId: 'da637-1' }, { source: 'graph', id: 'da637-1' }],
    [{ alertId: ' da637-1 ', source: 'graph' }, { source: 'graph', id: 'da637-1' }],
    [{ SystemAlertId: '0b7a9e54-1111-4222-8333-444455556666', AlertDisplayName: 'x', Entities: '[]' }, { source: 'sentinel', id: '0b7a9e54-1111-4222-8333-444455556666' }],
    [{ systemAlertId: 'abc', SystemAlertId: 'abc' }, { source: 'sentinel', id: 'abc' }],
  ])('%j names %j', (body, ref) => {
    expect(parsePushedAlertRef(body)).toEqual({ ok: true, ref });
  });

  it.each([null, [], 'da637', 42, {}, { alertId: '' }, { alertId: 7 }, { alertId: 'a'.repeat(201) }, { alertId: 'a', SystemAlertId: 'b' }, { systemAlertId: 'a', SystemAlertId: 'b' }, { alertId: 'a', source: 'sentinel' }, { SystemAlertId: 'b', source: 'graph' }, { alertId: 'a', source: 'okta' }])(
    '%j is refused with a sentence',
    (body) => {
      const parsed = parsePushedAlertRef(body);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toMatch(/\.$/);
    },
  );
});

describe('signed pushes', () => {
  const body = '{"alertId":"da637-1"}';

  it('accepts a fresh signature once; the same request again is a replay', async () => {
    const a = auth();
    const headers = signed(body);
    expect((await signedPush(a, body, headers)).ok).toBe(true);
    expect(await signedPush(a, body, headers)).toMatchObject({ ok: false, status: 401, reason: expect.stringContaining('replay') });
  });

  it('refuses a wrong secret, a changed body, another timestamp under the same MAC, and a stale or future timestamp', async () => {
    const a = auth();
    expect((await signedPush(a, body, signed(body, ts(), `${SECRET}x`))).ok).toBe(false);
    expect((await signedPush(a, '{"alertId":"da637-2"}', signed(body))).ok).toBe(false);
    const original = signed(body);
    expect((await signedPush(a, body, { ...original, [PUSH_TIMESTAMP_HEADER]: ts(1) })).ok).toBe(false);
    expect(await signedPush(a, body, signed(body, ts(-121)))).toMatchObject({ ok: false, reason: expect.stringContaining('window') });
    expect((await signedPush(a, body, signed(body, ts(121)))).ok).toBe(false);
    // Inside the window both ways works (clocks differ).
    expect((await signedPush(a, body, signed(body, ts(-119)))).ok).toBe(true);
    expect((await signedPush(a, body, signed(body, ts(119)))).ok).toBe(true);
  });

  it('never repeats the secret or the signature in a refusal', async () => {
    const a = auth();
    const headers = signed(body, ts(), `${SECRET}x`);
    const refusal = await signedPush(a, body, headers);
    expect(refusal.ok).toBe(false);
    expect(JSON.stringify(refusal)).not.toContain(SECRET);
    expect(JSON.stringify(refusal)).not.toContain(headers[PUSH_SIGNATURE_HEADER]!.slice(7));
  });

  it('refuses no credentials, and a credential kind that is not configured', async () => {
    const a = auth();
    expect(await a.admitHeaders({})).toMatchObject({ ok: false, status: 401 });
    expect(await a.admitHeaders({ authorization: 'Bearer a.b.c' })).toMatchObject({ ok: false, status: 401, reason: expect.stringContaining('not configured') });
    const onlyEntra = createAlertPushAuth({ leases: memoryLeases(), entra: { verify: async () => ({ ok: false, reason: 'x' }) } });
    expect(await onlyEntra.admitHeaders(signed(body))).toMatchObject({ ok: false, status: 401, reason: expect.stringContaining('not configured') });
  });
});

describe('Entra callers at the door', () => {
  it('passes the compact token to the verifier; its verdict decides; keys it cannot read make a 503, not a 401', async () => {
    const seen: string[] = [];
    const verifier: CallerTokenVerifier = {
      async verify(token) {
        seen.push(token);
        if (token === 'good.to.ken') return { ok: true, caller: { appId: 'app', objectId: 'oid', tenantId: 't' } };
        if (token === 'down.to.ken') return { ok: false, reason: 'keys', unavailable: true };
        return { ok: false, reason: 'the token signature is invalid' };
      },
    };
    const a = auth(verifier);
    expect(await a.admitHeaders({ authorization: 'Bearer good.to.ken' })).toMatchObject({ ok: true, caller: { kind: 'entra', caller: { appId: 'app' } } });
    expect(await a.admitHeaders({ authorization: 'Bearer bad.to.ken' })).toMatchObject({ ok: false, status: 401 });
    expect(await a.admitHeaders({ authorization: 'Bearer down.to.ken' })).toMatchObject({ ok: false, status: 503 });
    expect(await a.admitHeaders({ authorization: 'Basic dXNlcjpwdw==' })).toMatchObject({ ok: false, status: 401 });
    expect(await a.admitHeaders({ authorization: `Bearer ${'a'.repeat(17_000)}.b.c` })).toMatchObject({ ok: false, status: 401 });
    expect(seen).toEqual(['good.to.ken', 'bad.to.ken', 'down.to.ken']);
  });
});

describe('push configuration', () => {
  const base = { BOT_AUTH: 'off', DRY_RUN: 'true', ALERT_SOURCES: 'graph', AZURE_TENANT_ID: '11111111-1111-1111-1111-111111111111', AZURE_MANAGED_IDENTITY: 'true' };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('no ALERT_PUSH_ key: no webhook', () => {
    expect(loadConfig(base).alertPush).toBeUndefined();
  });

  it('Entra callers need both an audience and a caller list; the tenant defaults to the organisation', () => {
    expect(problems({ ...base, ALERT_PUSH_AUDIENCE: 'api://x' })).toEqual([expect.stringContaining('ALERT_PUSH_CALLER_IDS')]);
    expect(problems({ ...base, ALERT_PUSH_CALLER_IDS: '99999999-9999-9999-9999-999999999999' })).toEqual([expect.stringContaining('ALERT_PUSH_AUDIENCE')]);
    expect(problems({ ...base, ALERT_PUSH_AUDIENCE: 'not a uri', ALERT_PUSH_CALLER_IDS: '99999999-9999-9999-9999-999999999999' })).toEqual([expect.stringContaining('app ID URI')]);
    const config = loadConfig({ ...base, ALERT_PUSH_AUDIENCE: 'api://x', ALERT_PUSH_CALLER_IDS: '99999999-9999-9999-9999-999999999999' });
    expect(config.alertPush?.entra).toEqual({ audiences: ['api://x'], callerIds: ['99999999-9999-9999-9999-999999999999'], tenantId: '11111111-1111-1111-1111-111111111111', authorityHost: 'https://login.microsoftonline.com' });
  });

  it('a short HMAC secret is refused without showing it; push without an alert source is refused', () => {
    const found = problems({ ...base, ALERT_PUSH_HMAC_SECRET: 'short-secret-value' });
    expect(found).toEqual([expect.stringContaining('at least 32 characters')]);
    expect(found.join('\n')).not.toContain('short-secret-value');
    expect(problems({ ...base, ALERT_SOURCES: 'none', ALERT_PUSH_HMAC_SECRET: SECRET })).toEqual([expect.stringContaining('ALERT_SOURCES')]);
  });
});
