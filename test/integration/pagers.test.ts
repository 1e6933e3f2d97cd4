/**
 * The Pager adapters against their stand-ins over HTTPS (the test CA), and the stand-ins held to
 * the documented contracts: what PagerDuty's Events API v2 and Opsgenie's Alert API refuse, they refuse.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPagerDutyPager } from '../../src/adapters/pagerduty/pagerduty-pager.ts';
import { createOpsgeniePager } from '../../src/adapters/opsgenie/opsgenie-pager.ts';
import { isAppError } from '../../src/domain/errors.ts';
import { Secret } from '../../src/domain/secret.ts';
import type { Page } from '../../src/domain/ports/pager.ts';
import { startPagerDutyServer, type PagerDutyServer } from '../../sim/pagerduty/pagerduty-server.ts';
import { startOpsgenieServer, type OpsgenieServer } from '../../sim/opsgenie/opsgenie-server.ts';

const routingKey = randomBytes(16).toString('hex');
const apiKey = randomBytes(18).toString('base64url');
let pd: PagerDutyServer;
let og: OpsgenieServer;

beforeAll(async () => {
  pd = await startPagerDutyServer({ routingKeys: [routingKey] });
  og = await startOpsgenieServer({ apiKey });
});
afterAll(async () => {
  await pd.close();
  await og.close();
});

const page = (dedupKey: string): Page => ({ dedupKey, summary: `high MDI alert without owner: ${'x'.repeat(2000)}`, severity: 'high', link: 'https://security.microsoft.com/alerts/x', details: { reference: 'K7M2QX' } });

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('PagerDuty Events API v2', () => {
  it('the adapter triggers once per dedup key and resolves it; the stand-in folds a second trigger into the open alert', async () => {
    const pager = createPagerDutyPager({ eventsUrl: pd.url, routingKey: new Secret(routingKey), timeoutMs: 5000 });
    await pager.trigger(page('alert-pd-1'));
    await pager.trigger(page('alert-pd-1'));
    expect(pd.alerts.get('alert-pd-1')).toMatchObject({ status: 'triggered', triggers: 2 });
    expect(pd.events.filter((e) => e.dedupKey === 'alert-pd-1').map((e) => [e.action, e.severity, e.summary?.length])).toEqual([
      ['trigger', 'critical', 1024],
      ['trigger', 'critical', 1024],
    ]);
    await pager.resolve('alert-pd-1', 'taken');
    expect(pd.alerts.get('alert-pd-1')?.status).toBe('resolved');
  });

  it.each([
    ['no routing key', { event_action: 'trigger', payload: { summary: 's', source: 'x', severity: 'critical' } }, 'routing_key'],
    ['an unknown action', { routing_key: routingKey, event_action: 'page', payload: { summary: 's', source: 'x', severity: 'critical' } }, 'event_action'],
    ['a trigger without summary', { routing_key: routingKey, event_action: 'trigger', payload: { source: 'x', severity: 'critical' } }, 'payload.summary'],
    ['a bad severity', { routing_key: routingKey, event_action: 'trigger', payload: { summary: 's', source: 'x', severity: 'high' } }, 'payload.severity'],
    ['a resolve without dedup key', { routing_key: routingKey, event_action: 'resolve' }, 'dedup_key'],
    ['a dedup key over 255 characters', { routing_key: routingKey, event_action: 'resolve', dedup_key: 'k'.repeat(256) }, 'dedup_key'],
  ])('the stand-in refuses %s (400, invalid event)', async (_what, body, field) => {
    const answer = await post(`${pd.url}/v2/enqueue`, body);
    expect(answer.status).toBe(400);
    expect(answer.body.status).toBe('invalid event');
    expect(JSON.stringify(answer.body.errors)).toContain(field);
  });

  it('a refused event is an AppError that names the status, never the routing key', async () => {
    const pager = createPagerDutyPager({ eventsUrl: pd.url, routingKey: new Secret('too-short'), timeoutMs: 5000 });
    const error = await pager.trigger(page('alert-pd-2')).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('UPSTREAM_ERROR');
    expect(JSON.stringify({ message: (error as Error).message, details: (error as { details?: unknown }).details })).not.toContain('too-short');
    pd.failNext.push(429);
    const throttled = await createPagerDutyPager({ eventsUrl: pd.url, routingKey: new Secret(routingKey), timeoutMs: 5000 }).trigger(page('alert-pd-3')).catch((e: unknown) => e);
    expect(isAppError(throttled) && throttled.code).toBe('UPSTREAM_THROTTLED');
  });
});

describe('Opsgenie Alert API', () => {
  it('the adapter creates one alert per alias (GenieKey) and closes it by alias', async () => {
    const pager = createOpsgeniePager({ apiUrl: og.url, apiKey: new Secret(apiKey), timeoutMs: 5000 });
    await pager.trigger(page('alert-og-1'));
    await pager.trigger(page('alert-og-1'));
    expect(og.alerts.get('alert-og-1')).toMatchObject({ status: 'open', count: 2, priority: 'P1' });
    expect(og.alerts.get('alert-og-1')!.message.length).toBeLessThanOrEqual(130);
    await pager.resolve('alert-og-1', 'taken');
    expect(og.alerts.get('alert-og-1')?.status).toBe('closed');
  });

  it('the stand-in refuses a missing or wrong GenieKey (401) and an empty or long message (422)', async () => {
    expect((await post(`${og.url}/v2/alerts`, { message: 'm' })).status).toBe(401);
    expect((await post(`${og.url}/v2/alerts`, { message: 'm' }, { authorization: `GenieKey ${apiKey}x` })).status).toBe(401);
    expect((await post(`${og.url}/v2/alerts`, { alias: 'a' }, { authorization: `GenieKey ${apiKey}` })).status).toBe(422);
    expect((await post(`${og.url}/v2/alerts`, { message: 'm'.repeat(131) }, { authorization: `GenieKey ${apiKey}` })).status).toBe(422);
    const accepted = await post(`${og.url}/v2/alerts`, { message: 'm', alias: 'x' }, { authorization: `GenieKey ${apiKey}` });
    expect(accepted).toMatchObject({ status: 202, body: { result: 'Request will be processed', requestId: expect.any(String) } });
  });

  it('a wrong key surfaces as an AppError without the key', async () => {
    const error = await createOpsgeniePager({ apiUrl: og.url, apiKey: new Secret('wrong-key-123'), timeoutMs: 5000 }).trigger(page('alert-og-2')).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('UPSTREAM_ERROR');
    expect(JSON.stringify({ message: (error as Error).message, details: (error as { details?: unknown }).details })).not.toContain('wrong-key-123');
  });
});
