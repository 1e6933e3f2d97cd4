import { trace, SpanStatusCode } from '@opentelemetry/api';
import { node } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AllowListSpanProcessor } from '../../src/observability/export-filter.ts';
import { alertAnchor, alertLinks, allowedAttributes, currentTraceIds, enableTelemetry, inSpan, outboundSpan, sanitizeUrl, telemetryEnabled } from '../../src/shared/telemetry.ts';
import { tracedAttempt, tracedFetch } from '../../src/shared/telemetry-http.ts';
import { tracedRemediation } from '../../src/observability/traced-remediation.ts';
import type { Remediation } from '../../src/domain/remediation.ts';

// The span helpers: off by default (no span, no context), then through a real SDK (in memory) with
// the export filter in front, attacked with what must never be exported.
const SECRET = 'Tmp-Pw!9xQ7-Zk2-secret';

describe('telemetry off (nothing configured)', () => {
  it('runs the work without creating a span and has no trace ids for logs', async () => {
    expect(telemetryEnabled()).toBe(false);
    const seen = await inSpan('x', { 'incident.action': 'disable-ad-account' }, async (span) => ({ recording: span.isRecording(), valid: trace.isSpanContextValid(span.spanContext()) }));
    expect(seen).toEqual({ recording: false, valid: false });
    expect(currentTraceIds()).toBeUndefined();
    expect(alertLinks('alert-1')).toEqual([]);
    await expect(inSpan('x', {}, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});

describe('attributes', () => {
  it('keeps only allow-listed names with primitive values; strings capped', () => {
    const out = allowedAttributes({ 'incident.action': 'reset-password', password: SECRET, 'http.request.header.authorization': 'Bearer x', 'incident.outcome': { nested: SECRET }, 'incident.alert.key': 'k'.repeat(1000), 'incident.dry_run': true });
    expect(out).toEqual({ 'incident.action': 'reset-password', 'incident.alert.key': 'k'.repeat(256), 'incident.dry_run': true });
  });

  it('URLs lose user info, query and fragment (a query may carry a code or a token)', () => {
    expect(sanitizeUrl(`https://user:${SECRET}@graph.example/v1.0/users?$filter=x&code=${SECRET}#frag`)).toBe('https://graph.example/v1.0/users');
    expect(allowedAttributes({ 'url.full': `https://okta.example/oauth2/v1/token?client_assertion=${SECRET}` })).toEqual({ 'url.full': 'https://okta.example/oauth2/v1/token' });
    expect(sanitizeUrl('not a url')).toBe('[unparsable url]');
  });

  it('the alert anchor is a valid span context derived from the key alone: the same everywhere, different per alert', () => {
    const a = alertAnchor('graph:da637');
    expect(trace.isSpanContextValid(a)).toBe(true);
    expect(alertAnchor('graph:da637')).toEqual(a);
    expect(alertAnchor('graph:da638').traceId).not.toBe(a.traceId);
  });
});

describe('telemetry on, through an SDK with the export filter', () => {
  const exporter = new InMemorySpanExporter();
  // The Node provider registers itself with the async-local-storage context manager, as the bot's SDK does.
  const provider = new node.NodeTracerProvider({ spanProcessors: [new AllowListSpanProcessor(), new SimpleSpanProcessor(exporter)] });
  beforeAll(() => {
    provider.register();
    enableTelemetry();
  });
  beforeEach(() => exporter.reset());
  afterAll(async () => {
    await provider.shutdown();
  });

  it('nests spans, links an alert, and gives log lines the current trace ids', async () => {
    let ids: ReturnType<typeof currentTraceIds>;
    await inSpan('outer', { 'incident.alert.key': 'a1' }, () => outboundSpan('inner', { 'ldap.operation': 'bind' }, async () => void (ids = currentTraceIds())), { root: true, links: alertLinks('a1') });
    const [inner, outer] = exporter.getFinishedSpans();
    expect(inner!.name).toBe('inner');
    expect(inner!.parentSpanContext?.spanId).toBe(outer!.spanContext().spanId);
    expect(ids).toEqual({ trace_id: inner!.spanContext().traceId, span_id: inner!.spanContext().spanId });
    expect(outer!.links.map((l) => l.context.traceId)).toEqual([alertAnchor('a1').traceId]);
  });

  it('a failure is recorded by its code, never its message (which may quote a secret)', async () => {
    const error = Object.assign(new Error(`bind failed for password ${SECRET}`), { code: 'UPSTREAM_FORBIDDEN' });
    await expect(inSpan('fails', {}, async () => Promise.reject(error))).rejects.toBe(error);
    const [span] = exporter.getFinishedSpans();
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'UPSTREAM_FORBIDDEN' });
    expect(span!.attributes['error.type']).toBe('UPSTREAM_FORBIDDEN');
    expect(JSON.stringify({ a: span!.attributes, e: span!.events, s: span!.status })).not.toContain(SECRET);
  });

  it('the export filter drops what code set around the helpers: unlisted attributes, exception events, link attributes', async () => {
    await inSpan('hostile', {}, async (span) => {
      span.setAttribute('password', SECRET);
      span.setAttribute('http.request.body', SECRET);
      span.setAttribute('incident.action', 'reset-password');
      span.recordException(new Error(SECRET));
      span.addLink({ context: alertAnchor('a2'), attributes: { token: SECRET, 'incident.alert.key': 'a2' } });
    });
    const [span] = exporter.getFinishedSpans();
    expect(span!.attributes).toEqual({ 'incident.action': 'reset-password' });
    expect(span!.events).toEqual([]);
    expect(span!.links[0]!.attributes).toEqual({ 'incident.alert.key': 'a2' });
    expect(JSON.stringify({ a: span!.attributes, e: span!.events, l: span!.links })).not.toContain(SECRET);
  });

  it('tracedAttempt (Azure SDK and connector pipelines) records the attempt, and a failed attempt by its code', async () => {
    const request = { method: 'POST', url: `https://api.loganalytics.example/v1/workspaces/w1/query?token=${SECRET}`, headers: { authorization: `Bearer ${SECRET}` } };
    expect((await tracedAttempt('loganalytics.request', request, async () => ({ status: 200, bodyAsText: SECRET }))).status).toBe(200);
    const refused = Object.assign(new Error(`socket hang up ${SECRET}`), { code: 'ECONNRESET' });
    await expect(tracedAttempt('bot_connector.request', request, async () => Promise.reject(refused))).rejects.toBe(refused);
    const [ok, failed] = exporter.getFinishedSpans();
    expect(ok!.attributes).toEqual({ 'http.request.method': 'POST', 'url.full': 'https://api.loganalytics.example/v1/workspaces/w1/query', 'server.address': 'api.loganalytics.example', 'http.response.status_code': 200 });
    expect(failed!.attributes['error.type']).toBe('ECONNRESET');
    expect(JSON.stringify([ok!.attributes, failed!.attributes, failed!.status, failed!.events])).not.toContain(SECRET);
  });

  it('tracedFetch records method, URL without query, server and status; never headers or bodies', async () => {
    const fake: typeof fetch = async () => new Response('{"access_token":"x"}', { status: 201 });
    const response = await tracedFetch(fake, 'okta.request')(`https://okta.example/oauth2/v1/token?x=${SECRET}`, { method: 'POST', headers: { Authorization: `Bearer ${SECRET}` }, body: `client_assertion=${SECRET}` });
    expect(response.status).toBe(201);
    const [span] = exporter.getFinishedSpans();
    expect(span!.attributes).toEqual({ 'http.request.method': 'POST', 'url.full': 'https://okta.example/oauth2/v1/token', 'server.address': 'okta.example', 'http.response.status_code': 201 });
  });
});

describe('tracedRemediation', () => {
  it('keeps every member of the port it wraps, the optional ones included (offer and "via" line of an executor)', async () => {
    const inner: Remediation = {
      supports: () => true,
      inspect: async () => ({ found: true, privileged: false, reasons: [] }),
      run: async () => ({ summary: 'done', details: {} }),
      readBack: async () => 'applied',
      offerable: async (action) => action === 'disable-ad-account',
      describe: (action) => (action === 'disable-ad-account' ? 'Via Defender for Identity.' : undefined),
    };
    const traced = tracedRemediation(inner);
    expect(Object.keys(traced).sort()).toEqual(Object.keys(inner).sort());
    const log = { info() {}, warn() {}, error() {}, debug() {}, child() { return log; } } as unknown as Parameters<NonNullable<Remediation['offerable']>>[2]['log'];
    expect(await traced.offerable!('reset-password', { accountKey: 'sam:corp\\x' }, { log })).toBe(false);
    expect(await traced.offerable!('disable-ad-account', { accountKey: 'sam:corp\\x' }, { log })).toBe(true);
    expect(traced.describe!('disable-ad-account')).toBe('Via Defender for Identity.');
    const bare = tracedRemediation({ supports: inner.supports, inspect: inner.inspect, run: inner.run, readBack: inner.readBack });
    expect(bare.offerable).toBeUndefined();
    expect(bare.describe).toBeUndefined();
  });
});
