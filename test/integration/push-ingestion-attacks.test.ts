import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mdiAlert } from '../../sim/graph/graph-alert-factory.ts';
import { putAlert } from '../../sim/tenant.ts';
import { PUSH_SIGNATURE_HEADER, PUSH_TIMESTAMP_HEADER } from '../../src/http/alert-push-auth.ts';
import { createTestDatabase, probePostgres, type TestDatabase } from '../support/postgres.ts';
import { PUSH_AUDIENCE, type PushBot, type PushHarness } from '../support/push-harness.ts';
import { usePushE2e } from '../support/push-e2e-hooks.ts';
import { rawPost } from '../support/raw-http.ts';

// The webhook attacked: every forged, stolen, replayed or hostile request is refused and changes
// nothing: no read from the alert source, no card, no audit of a push. The control in each test
// is the same request done right, which must work, so a refusal is never "everything fails".

let h: PushHarness;
const { bots } = usePushE2e((harness) => (h = harness));
beforeEach(() => {
  h.tokens.tokenLifetimeSeconds = 3599;
});

async function bot(extra: Record<string, string> = {}, role: 'poller' | 'standby' = 'poller'): Promise<PushBot> {
  const started = await h.startBot(extra);
  bots.push(started);
  // The poller's start-up poll is over (nothing to post then); a standby only listens.
  if (role === 'poller') await waitFor(() => started.log.lines().some((l) => l.msg === 'alert source polled' && l.source === 'sentinel'));
  return started;
}

async function waitFor(probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const cards = () => h.connector.cardsPosted();
const byIdReads = () => h.graph.requests.filter((r) => /^\/v1\.0\/security\/alerts_v2\/[^/]+$/.test(r.path)).length;
const pushAudits = (b: PushBot) => b.log.lines().filter((l) => l.component === 'alert-push' && typeof l.msg === 'string' && l.msg.startsWith('pushed alert'));

function newAlert() {
  const now = new Date();
  return putAlert(h.demo.tenant, mdiAlert({ kind: 'passTheHash', createdDateTime: now, lastUpdateDateTime: now }));
}

/** Sends `attempt`, asserts it is refused with `status` and changed nothing; then the control works. */
async function refusedThenControl(b: PushBot, attempt: () => Promise<{ status: number }>, status: number, control: () => Promise<{ status: number }>) {
  const reads = byIdReads();
  const answer = await attempt();
  expect(answer.status).toBe(status);
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect(byIdReads()).toBe(reads);
  expect(cards()).toHaveLength(0);
  expect(pushAudits(b)).toHaveLength(0);
  expect((await control()).status).toBe(202);
  await waitFor(() => cards().length === 1);
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('push ingestion attacks: Entra ID tokens', () => {
  it('no credentials at all: 401 from the headers alone, before a byte of the body is sent', async () => {
    const b = await bot();
    const answer = await rawPost({ url: `${b.url}/api/alerts/notify`, headers: { 'content-type': 'application/json', 'content-length': '100000' }, holdOpen: true });
    expect(answer.status).toBe(401);
    expect(answer.sentBeforeAnswer).toBe(0);
    expect(answer.body).toBe('');
    const alert = newAlert();
    await refusedThenControl(b, () => h.push(b, JSON.stringify({ alertId: alert.id }), {}), 401, async () => h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${await h.token(h.logicApp)}` }));
  });

  it('a forged token (same claims and key id, signed with another key) and a tampered one are refused', async () => {
    const b = await bot();
    const alert = newAlert();
    const real = await h.token(h.logicApp);
    const [header, payload] = real.split('.') as [string, string, string];
    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = `${header}.${payload}.${sign('sha256', Buffer.from(`${header}.${payload}`), forger.privateKey).toString('base64url')}`;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = `${header}.${b64({ ...claims, oid: h.logicApp.objectId, appid: h.otherApp.clientId })}.${real.split('.')[2]}`;
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    for (const token of [forged, tampered, none]) {
      const answer = await h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${token}` });
      expect(answer.status).toBe(401);
    }
    await refusedThenControl(b, async () => ({ status: 401 }), 401, () => h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${real}` }));
    expect(b.log.text()).toContain('the token signature is invalid');
    // Neither the genuine token nor the forged ones are ever logged.
    for (const token of [real, forged, tampered]) expect(b.log.text()).not.toContain(token.split('.')[2]!.slice(0, 40));
  });

  it('a genuine token for another audience (Graph) is refused', async () => {
    const b = await bot();
    const alert = newAlert();
    const graphToken = await h.token(h.logicApp, 'https://graph.microsoft.com/.default');
    await refusedThenControl(b, () => h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${graphToken}` }), 401, async () =>
      h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${await h.token(h.logicApp)}` }),
    );
    expect(b.log.text()).toContain('the token is for another audience');
  });

  it('a genuine token of an app of the tenant that is not on the caller list is refused', async () => {
    const b = await bot();
    const alert = newAlert();
    const other = await h.token(h.otherApp);
    await refusedThenControl(b, () => h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${other}` }), 401, async () =>
      h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${await h.token(h.logicApp)}` }),
    );
    expect(b.log.text()).toContain('the calling application is not an allowed caller');
  });

  it("the allowed caller's client id signed in from another tenant is refused", async () => {
    const b = await bot({ ALERT_PUSH_CALLER_IDS: `${h.logicApp.objectId},${h.logicApp.clientId}` });
    const alert = newAlert();
    const foreign = await h.token(h.foreign);
    await refusedThenControl(b, () => h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${foreign}` }), 401, async () =>
      h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${await h.token(h.logicApp)}` }),
    );
    expect(b.log.text()).toContain('the token is from another tenant');
  });

  it('an expired token is refused', async () => {
    const b = await bot();
    const alert = newAlert();
    // Issued already expired beyond the 5 minutes of clock skew (the SDK would not hand it out).
    h.tokens.tokenLifetimeSeconds = -600;
    const response = await fetch(`${h.tokens.url}/${h.logicApp.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: h.logicApp.clientId, client_secret: h.logicApp.secret, scope: `${PUSH_AUDIENCE}/.default` }),
    });
    const expired = ((await response.json()) as { access_token: string }).access_token;
    h.tokens.tokenLifetimeSeconds = 3599;
    await refusedThenControl(b, () => h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${expired}` }), 401, async () =>
      h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${await h.token(h.logicApp)}` }),
    );
    expect(b.log.text()).toContain('the token is expired');
  });
});

describe('push ingestion attacks: signed (HMAC) pushes', () => {
  it('a signature made with the wrong secret is refused', async () => {
    const b = await bot();
    const alert = newAlert();
    const body = JSON.stringify({ alertId: alert.id });
    const wrong = h.signed(body, { secret: `${h.hmacSecret}x` });
    await refusedThenControl(b, () => h.push(b, body, wrong), 401, () => h.push(b, body, h.signed(body)));
    expect(b.log.text()).not.toContain(h.hmacSecret);
    expect(b.log.text()).not.toContain(wrong[PUSH_SIGNATURE_HEADER]!.slice(7));
  });

  it('a captured signed request replayed (same instance) is refused; so is its body changed under the same signature', async () => {
    const b = await bot();
    const alert = newAlert();
    const body = JSON.stringify({ alertId: alert.id });
    const headers = h.signed(body);
    const other = newAlert();
    const before = byIdReads();
    expect((await h.push(b, JSON.stringify({ alertId: other.id }), headers)).status).toBe(401);
    expect(byIdReads()).toBe(before);
    expect((await h.push(b, body, headers)).status).toBe(202);
    await waitFor(() => cards().length === 1);
    const reads = byIdReads();
    expect((await h.push(b, body, headers)).status).toBe(401);
    expect(byIdReads()).toBe(reads);
    expect(b.log.text()).toContain('this signed request was already used (replay)');
  });

  it('a correctly signed request with an old timestamp is refused before its body is read', async () => {
    const b = await bot();
    const alert = newAlert();
    const body = JSON.stringify({ alertId: alert.id });
    const old = Math.floor(Date.now() / 1000) - 600;
    await refusedThenControl(b, () => h.push(b, body, h.signed(body, { timestamp: old })), 401, () => h.push(b, body, h.signed(body)));
    const held = await rawPost({ url: `${b.url}/api/alerts/notify`, headers: { 'content-type': 'application/json', ...h.signed(body, { timestamp: old }) }, holdOpen: true });
    expect(held.status).toBe(401);
    expect(held.sentBeforeAnswer).toBe(0);
  });

  it('malformed signature headers are refused', async () => {
    const b = await bot();
    const alert = newAlert();
    const body = JSON.stringify({ alertId: alert.id });
    const good = h.signed(body);
    const variants: Record<string, string>[] = [
      { [PUSH_SIGNATURE_HEADER]: good[PUSH_SIGNATURE_HEADER]! },
      { [PUSH_TIMESTAMP_HEADER]: good[PUSH_TIMESTAMP_HEADER]! },
      { ...good, [PUSH_SIGNATURE_HEADER]: good[PUSH_SIGNATURE_HEADER]!.slice(0, -2) },
      { ...good, [PUSH_TIMESTAMP_HEADER]: `${good[PUSH_TIMESTAMP_HEADER]}.5` },
    ];
    for (const headers of variants) {
      expect((await h.push(b, body, headers)).status).toBe(401);
    }
    await refusedThenControl(b, async () => ({ status: 401 }), 401, () => h.push(b, body, h.signed(body)));
  });
});

describe('push ingestion attacks: hostile bodies from an authenticated caller', () => {
  it('a huge body is cut off at the cap (413), a non-JSON one refused (415), broken JSON 400, a body naming no alert 400', async () => {
    const b = await bot();
    const token = await h.token(h.logicApp);
    const auth = { authorization: `Bearer ${token}` };
    const huge = JSON.stringify({ alertId: 'x', pad: 'A'.repeat(300 * 1024) });
    const big = await rawPost({ url: `${b.url}/api/alerts/notify`, headers: { 'content-type': 'application/json', ...auth }, stream: { chunk: Buffer.from(huge.slice(0, 64 * 1024)), count: 6, pauseMs: 5 } });
    expect(big.status).toBe(413);
    expect(big.closed).toBe(true);
    const declared = await rawPost({ url: `${b.url}/api/alerts/notify`, headers: { 'content-type': 'application/json', 'content-length': String(huge.length), ...auth }, holdOpen: true });
    expect(declared.status).toBe(413);
    const alert = newAlert();
    const text = await fetch(`${b.url}/api/alerts/notify`, { method: 'POST', headers: { 'content-type': 'text/plain', ...auth }, body: JSON.stringify({ alertId: alert.id }) });
    expect(text.status).toBe(415);
    const form = await fetch(`${b.url}/api/alerts/notify`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth }, body: `alertId=${alert.id}` });
    expect(form.status).toBe(415);
    const broken = '{"alertId": ';
    expect((await h.push(b, broken, h.signed(broken))).status).toBe(400);
    for (const body of [{}, [], 'alert', { alertId: 42 }, { alertId: alert.id, SystemAlertId: '0b7a9e54-1111-4222-8333-444455556666' }, { alertId: 'y'.repeat(300) }, { alertId: alert.id, source: 'sentinel' }]) {
      expect((await h.push(b, JSON.stringify(body), auth)).status).toBe(400);
    }
    const deep = `${'['.repeat(40)}${']'.repeat(40)}`;
    expect((await h.push(b, deep, auth)).status).toBe(400);
    await refusedThenControl(b, async () => ({ status: 400 }), 400, () => h.push(b, JSON.stringify({ alertId: alert.id }), auth));
  });

  it('an id shaped to escape its query (Graph path, KQL string) is not looked up', async () => {
    const b = await bot();
    const token = await h.token(h.logicApp);
    const reads = byIdReads();
    const graphTrick = await h.push(b, JSON.stringify({ alertId: '../../users/alice?$select=id' }), { authorization: `Bearer ${token}` });
    const kqlTrick = await h.push(b, JSON.stringify({ SystemAlertId: '" or 1==1 | take 100 //' }), { authorization: `Bearer ${token}` });
    expect(graphTrick.status).toBe(404);
    expect(kqlTrick.status).toBe(404);
    expect(byIdReads()).toBe(reads);
    expect(h.la.queries.filter((q) => q.query.includes('SystemAlertId =='))).toHaveLength(0);
    expect(cards()).toHaveLength(0);
  });
});

const pg = await probePostgres();

describe.skipIf(!pg.available)('push ingestion: two instances on one PostgreSQL store', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('the same alert pushed to both instances at once is posted once; a push to the standby is posted by the poller; a replay to the other instance is refused', async () => {
    const first = await bot({ DATABASE_URL: db.url });
    const second = await bot({ DATABASE_URL: db.url }, 'standby');
    const token = await h.token(h.logicApp);
    const alert = newAlert();
    const body = JSON.stringify({ alertId: alert.id });
    const answers = await Promise.all([first, second, first, second].map((b) => h.push(b, body, { authorization: `Bearer ${token}` })));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202]);
    await waitFor(() => cards().length === 1);
    // A second alert pushed to each instance in turn: whichever is standby only records it; the
    // poller's outbox check posts it within seconds.
    const later = newAlert();
    for (const b of [second, first]) expect((await h.push(b, JSON.stringify({ alertId: later.id }), { authorization: `Bearer ${token}` })).status).toBe(202);
    await waitFor(() => cards().length === 2, 8_000);
    // A signed request used on one instance is refused on the other.
    const third = newAlert();
    const signedBody = JSON.stringify({ alertId: third.id });
    const headers = h.signed(signedBody);
    expect((await h.push(first, signedBody, headers)).status).toBe(202);
    expect((await h.push(second, signedBody, headers)).status).toBe(401);
    await waitFor(() => cards().length === 3, 8_000);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(cards()).toHaveLength(3);
  });
});
