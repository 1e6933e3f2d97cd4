import { beforeEach, describe, expect, it } from 'vitest';
import { mdiAlert } from '../../sim/graph/graph-alert-factory.ts';
import { makeMdiSecurityAlert } from '../../sim/loganalytics/security-alert-factory.ts';
import { decodeJwt } from '../../sim/entra/entra-token-server.ts';
import { putAlert } from '../../sim/tenant.ts';
import type { PushBot, PushHarness } from '../support/push-harness.ts';
import { usePushE2e } from '../support/push-e2e-hooks.ts';

// Push ingestion end to end: a Logic App's identity (a real @azure/identity token from the local
// Entra) names an alert; the bot reads it from Graph or Sentinel by id and posts it through the
// notifier's own path. Every count is the connector's or the stand-ins' own record.

let h: PushHarness;
const { bots } = usePushE2e((harness) => (h = harness));
beforeEach(() => {
  h.la.clearAlerts();
});

async function bot(extra: Record<string, string> = {}): Promise<PushBot> {
  const started = await h.startBot(extra);
  bots.push(started);
  // The start-up poll is over once the poll status is recorded; nothing is posted from it here.
  await waitFor('the start-up poll', () => started.log.lines().some((l) => l.msg === 'alert source polled' && l.source === 'sentinel'));
  return started;
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const cards = () => h.connector.cardsPosted();
const cardText = (i: number) => JSON.stringify(cards()[i]?.activity?.attachments);
const byIdReads = () => h.graph.requests.filter((r) => /^\/v1\.0\/security\/alerts_v2\/[^/]+$/.test(r.path)).length;
const listReads = () => h.graph.requests.filter((r) => r.path === '/v1.0/security/alerts_v2').length;

function newGraphAlert(title = 'Suspected DCSync attack (replication of directory services)') {
  const now = new Date();
  return putAlert(h.demo.tenant, mdiAlert({ kind: 'dcsync', createdDateTime: now, lastUpdateDateTime: now, title }));
}

describe('push ingestion: a pushed alert becomes its card, once', () => {
  it('a Graph alert id pushed with the Logic App identity is read by id and posted, with no poll in between', async () => {
    const b = await bot();
    const listsBefore = listReads();
    const alert = newGraphAlert();
    const token = await h.token(h.logicApp);
    const answer = await h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${token}` });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ status: 'queued', alert: expect.stringMatching(/^[A-Z0-9]{6}$/) });
    await waitFor('the card', () => cards().length === 1);
    expect(cardText(0)).toContain(alert.title as string);
    expect(cardText(0)).toContain((answer.body as { alert: string }).alert);
    // Read by id once; no list poll happened.
    expect(byIdReads()).toBe(1);
    expect(listReads()).toBe(listsBefore);
    const audit = b.log.lines().find((l) => l.msg === 'pushed alert read from its source and queued for posting');
    expect(audit).toMatchObject({ caller: `push:${h.logicApp.clientId}` });
  });

  it('the same alert pushed again, and polled later by another start on the same store, is not posted again', async () => {
    const env = h.env();
    const first = await h.startBot(env);
    bots.push(first);
    await waitFor('start-up poll', () => first.log.lines().some((l) => l.msg === 'alert source polled' && l.source === 'sentinel'));
    const alert = newGraphAlert();
    const token = await h.token(h.logicApp);
    expect((await h.push(first, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${token}` })).status).toBe(202);
    await waitFor('the card', () => cards().length === 1);
    const again = await h.push(first, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${token}` });
    expect(again).toMatchObject({ status: 202, body: { status: 'known' } });
    await bots.splice(0)[0]!.stop();
    // A new start polls at once (24 h look-back): it reads the pushed alert and posts nothing.
    const listsBefore = listReads();
    const second = await h.startBot(env);
    bots.push(second);
    await waitFor('the poll', () => second.log.lines().some((l) => l.msg === 'alert source polled' && l.source === 'graph' && l.seen === 1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(listReads()).toBeGreaterThan(listsBefore);
    expect(cards()).toHaveLength(1);
  });

  it('a Sentinel alert trigger body (SystemAlertId and what the trigger says) is read from SecurityAlert by KQL; the pushed text is ignored', async () => {
    const b = await bot();
    const row = makeMdiSecurityAlert({ alertName: 'Suspected Golden Ticket usage (encryption downgrade)', timeGenerated: new Date() });
    h.la.addAlerts([row]);
    // What a playbook's alert trigger hands over (abridged), with lies in everything but the id.
    const triggerBody = { SystemAlertId: row.SystemAlertId, AlertDisplayName: 'Nothing to see here', Severity: 'Informational', ProductName: 'Azure Advanced Threat Protection', Entities: '[]', WorkspaceId: 'x' };
    const answer = await h.push(b, JSON.stringify(triggerBody), { authorization: `Bearer ${await h.token(h.logicApp)}` });
    expect(answer.status).toBe(202);
    await waitFor('the card', () => cards().length === 1);
    expect(cardText(0)).toContain('Suspected Golden Ticket usage');
    expect(cardText(0)).not.toContain('Nothing to see here');
    const query = h.la.queries.at(-1)!;
    expect(query.query).toContain(`SystemAlertId == "${String(row.SystemAlertId)}"`);
  });

  it('an unknown alert id posts nothing, answers 404 and says so in the log', async () => {
    const b = await bot();
    const token = await h.token(h.logicApp);
    const graph = await h.push(b, JSON.stringify({ alertId: 'da638000000000000000_-1234567890' }), { authorization: `Bearer ${token}` });
    const sentinel = await h.push(b, JSON.stringify({ SystemAlertId: '0b7a9e54-1111-4222-8333-444455556666' }), { authorization: `Bearer ${token}` });
    expect(graph.status).toBe(404);
    expect(sentinel.status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cards()).toHaveLength(0);
    const lines = b.log.lines().filter((l) => l.msg === 'pushed alert id not found at its source: nothing recorded or posted');
    expect(lines.map((l) => l.source)).toEqual(['graph', 'sentinel']);
    expect(lines[0]).toMatchObject({ sourceId: 'da638000000000000000_-1234567890', reason: 'Microsoft Graph has no alert with this id' });
  });

  it('a Graph alert of another Defender product is not posted (the bot posts MDI alerts only)', async () => {
    const b = await bot();
    const now = new Date();
    const alert = putAlert(h.demo.tenant, { ...mdiAlert({ createdDateTime: now, lastUpdateDateTime: now }), serviceSource: 'microsoftDefenderForEndpoint' });
    const answer = await h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${await h.token(h.logicApp)}` });
    expect(answer.status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(cards()).toHaveLength(0);
  });

  it('a signed push (HMAC) posts the alert too', async () => {
    const b = await bot();
    const alert = newGraphAlert('Suspected identity theft (pass-the-hash)');
    const body = JSON.stringify({ alertId: alert.id });
    const answer = await h.push(b, body, h.signed(body));
    expect(answer.status).toBe(202);
    await waitFor('the card', () => cards().length === 1);
    expect(cardText(0)).toContain('pass-the-hash');
  });

  it('a Sentinel row rewritten by an alert customisation is not what a push fetches (the poll leaves it out too)', async () => {
    const b = await bot();
    const row = makeMdiSecurityAlert({ customised: true, timeGenerated: new Date() });
    h.la.addAlerts([row]);
    const answer = await h.push(b, JSON.stringify({ SystemAlertId: row.SystemAlertId }), { authorization: `Bearer ${await h.token(h.logicApp)}` });
    expect(answer.status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(cards()).toHaveLength(0);
  });

  it('a source that fails answers 503 (the caller may retry) and records nothing; the retry then posts', async () => {
    const b = await bot();
    const alert = newGraphAlert();
    const token = await h.token(h.logicApp);
    h.graph.faults.push({ status: 503, retryAfterSeconds: 0, times: 10, match: (req) => req.path.startsWith('/v1.0/security/alerts_v2/') });
    const failed = await h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${token}` });
    expect(failed.status).toBe(503);
    expect(JSON.stringify(failed.body)).not.toMatch(/token|secret/i);
    h.graph.faults.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(cards()).toHaveLength(0);
    expect((await h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${token}` })).status).toBe(202);
    await waitFor('the card', () => cards().length === 1);
  });
});

describe('push ingestion: what MIN_SEVERITY filters is recorded, not posted', () => {
  it('a pushed low alert under MIN_SEVERITY=high answers "filtered" and posts nothing', async () => {
    const b = await bot({ MIN_SEVERITY: 'high' });
    const now = new Date();
    const alert = putAlert(h.demo.tenant, mdiAlert({ kind: 'ldapEnumeration', severity: 'low', createdDateTime: now, lastUpdateDateTime: now }));
    const answer = await h.push(b, JSON.stringify({ alertId: alert.id }), { authorization: `Bearer ${await h.token(h.logicApp)}` });
    expect(answer).toMatchObject({ status: 202, body: { status: 'filtered' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cards()).toHaveLength(0);
  });
});

describe('the Entra stand-in for webhook callers', () => {
  it('publishes v1 and v2 OpenID metadata with their issuers and one JWKS, and puts the identity\'s object id in oid', async () => {
    const tenant = h.logicApp.tenantId;
    const v2 = (await (await fetch(`${h.tokens.url}/${tenant}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
    const v1 = (await (await fetch(`${h.tokens.url}/${tenant}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(v2.issuer).toBe(`${h.tokens.url}/${tenant}/v2.0`);
    expect(v1.issuer).toBe(`https://sts.windows.net/${tenant}/`);
    const keys = await Promise.all([v1.jwks_uri!, v2.jwks_uri!].map(async (uri) => ((await (await fetch(uri)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)));
    expect(keys[0]).toEqual(keys[1]);
    const claims = decodeJwt(await h.token(h.logicApp))!.payload;
    expect(claims).toMatchObject({ aud: 'api://incident-bot-alerts-test', oid: h.logicApp.objectId, appid: h.logicApp.clientId, tid: tenant, iss: `https://sts.windows.net/${tenant}/` });
    expect(claims.scp).toBeUndefined();
    expect(keys[0]).toContain(decodeJwt(await h.token(h.logicApp))!.header.kid);
  });
});
