import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { gate } from '../support/gate.ts';
import { createAzureCredential } from '../../src/adapters/azure/azure-credential.ts';
import { createGraphClient, graphScopeFor } from '../../src/adapters/graph/graph-client.ts';
import { createGraphAlertSource } from '../../src/adapters/graph/graph-alert-source.ts';
import { createSentinelAlertSource } from '../../src/adapters/loganalytics/sentinel-alert-source.ts';
import { buildSentinelAlertQuery, DEFAULT_MDI_PREDICATE, validateKqlPredicate } from '../../src/adapters/loganalytics/sentinel-query.ts';
import type { AzureConfig } from '../../src/config/config.ts';
import type { AlertSource } from '../../src/domain/ports/alert-source.ts';
import { AppError } from '../../src/domain/errors.ts';
import { Secret } from '../../src/observability/logger.ts';
import { appError } from '../support/failures.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { decodeJwt, LOG_ANALYTICS_AUDIENCE, verifyBearer, type EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { startTokensAndGraph, type GraphServer } from '../../sim/graph/graph-server.ts';
import { startLogAnalyticsServer, type LogAnalyticsServer, type SecurityAlertRow } from '../../sim/loganalytics/log-analytics-server.ts';
import { createDemoTenant, putAlert, updateAlert, type DemoTenant } from '../../sim/tenant.ts';
import { mdiAlert, mdiAlertSeries, unknownEvidence } from '../../sim/graph/graph-alert-factory.ts';
import { makeAlertVersions, makeMdiAlertWithMalformedEntities, makeMdiSecurityAlert } from '../../sim/loganalytics/security-alert-factory.ts';

/**
 * The two alert sources driven through the REAL SDKs (@azure/identity, microsoft-graph-client,
 * monitor-query-logs) against the local HTTPS stand-ins for Entra ID, Graph and Log Analytics.
 */

const clientId = 'a1b2c3d4-0000-4000-8000-00000000a1e7';
const readerWithoutAlerts = 'a1b2c3d4-0000-4000-8000-00000000b10c';
const certClientId = 'a1b2c3d4-0000-4000-8000-00000000ce57';
const WORKSPACE = '5f0c2c8e-1111-2222-3333-444455556666';
// Generated per run: nothing secret is committed.
const secret = randomBytes(24).toString('base64url');
const otherSecret = randomBytes(24).toString('base64url');
const certDir = mkdtempSync(join(tmpdir(), 'alert-sources-'));

let demo: DemoTenant;
let tokens: EntraTokenServer;
let graph: GraphServer;
let la: LogAnalyticsServer;
let certPath: string;
let certPem: string;

function azureConfig(overrides: Partial<AzureConfig> = {}): AzureConfig {
  return { tenantId: demo.tenant.tenantId, clientId, clientSecret: new Secret(secret), managedIdentity: false, authorityHost: tokens.url, ...overrides };
}

function graphSource(options: { azure?: Partial<AzureConfig>; timeoutMs?: number; maxRetries?: number; maxRetryAfterSeconds?: number; now?: () => Date; pageSize?: number; maxPages?: number } = {}) {
  const log = captureLogger();
  const timeoutMs = options.timeoutMs ?? 5000;
  const credential = createAzureCredential(azureConfig(options.azure), { timeoutMs: 5000 });
  const client = createGraphClient({
    credential,
    endpoint: graph.url,
    timeoutMs,
    logger: log.logger,
    maxRetries: options.maxRetries ?? 3,
    retryDelaySeconds: 0,
    ...(options.maxRetryAfterSeconds === undefined ? {} : { maxRetryAfterSeconds: options.maxRetryAfterSeconds }),
  });
  const source = createGraphAlertSource({
    client,
    logger: log.logger,
    ...(options.now ? { now: options.now } : {}),
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
    ...(options.maxPages ? { maxPages: options.maxPages } : {}),
  });
  return { source, log };
}

const alertsPath = (r: { path: string }) => r.path === '/v1.0/security/alerts_v2';

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'app.key'), '-out', join(certDir, 'app.crt'), '-days', '1', '-subj', '/CN=incident-bot'], { stdio: 'ignore' });
  certPem = readFileSync(join(certDir, 'app.crt'), 'utf8');
  certPath = join(certDir, 'app.pem');
  writeFileSync(certPath, readFileSync(join(certDir, 'app.key'), 'utf8') + certPem);

  demo = createDemoTenant();
  ({ tokens, graph } = await startTokensAndGraph(
    demo.tenant,
    [
      { clientId, clientSecret: secret },
      { clientId: readerWithoutAlerts, clientSecret: otherSecret, roles: ['User.Read.All'] },
      { clientId: certClientId, certificatePem: certPem },
    ],
    { alertPageSize: 50 },
  ));
  la = await startLogAnalyticsServer({ workspaceId: WORKSPACE, now: () => NOW, verifyToken: (header) => verifyBearer(header, LOG_ANALYTICS_AUDIENCE).ok });
});

afterAll(async () => {
  await Promise.all([tokens?.close(), graph?.close(), la?.close()]);
  rmSync(certDir, { recursive: true, force: true });
});

describe('createAzureCredential', () => {
  it('signs in with a PEM certificate file through the local authority', async () => {
    const credential = createAzureCredential(azureConfig({ clientId: certClientId, clientSecret: undefined, certificatePath: certPath }), { timeoutMs: 5000 });
    const token = await credential.getToken('https://graph.microsoft.com/.default');
    expect(decodeJwt(token?.token ?? '')?.payload).toMatchObject({ appid: certClientId, aud: 'https://graph.microsoft.com' });
    expect(tokens.issued.at(-1)?.credential).toBe('certificate');
  });

  it('refuses a configuration that names no way to sign in', () => {
    expect(() => createAzureCredential(azureConfig({ clientSecret: undefined }), { timeoutMs: 5000 })).toThrow(AppError);
  });

  it('gives up on a stalled token endpoint instead of hanging', async () => {
    // The token endpoint takes the requests and answers none while the test runs.
    const stall = gate();
    tokens.faults.push({ until: stall.opened, times: 20 });
    try {
      const credential = createAzureCredential(azureConfig(), { timeoutMs: 300 });
      const started = Date.now();
      const outcome = await credential.getToken('https://api.loganalytics.io/.default').then(
        () => 'token',
        (e: unknown) => (e as Error).name,
      );
      expect(outcome).not.toBe('token');
      // Gave up on its own (300 ms timeout; generous bound for a loaded CI machine).
      expect(Date.now() - started).toBeLessThan(5_000);
      // Through the Graph client the same stall reads as a sentence, not an MSAL dump.
      const client = createGraphClient({ credential, endpoint: graph.url, timeoutMs: 300, logger: captureLogger().logger });
      const error = await appError(createGraphAlertSource({ client, logger: captureLogger().logger }).fetchChanged(undefined));
      expect(error.code).toBe('UPSTREAM_ERROR');
      expect(error.message).toBe('Could not get a token for https://graph.microsoft.com/.default from Entra ID (endpoints_resolution_error): check that AZURE_AUTHORITY_HOST is reachable.');
    } finally {
      tokens.faults.length = 0;
      stall.open();
    }
  });
});

describe('graphScopeFor', () => {
  it('maps national clouds to their Graph resource and anything else to the global one', () => {
    expect(graphScopeFor('https://graph.microsoft.com')).toBe('https://graph.microsoft.com/.default');
    expect(graphScopeFor('https://graph.microsoft.us/')).toBe('https://graph.microsoft.us/.default');
    expect(graphScopeFor('https://dod-graph.microsoft.us')).toBe('https://dod-graph.microsoft.us/.default');
    expect(graphScopeFor('https://microsoftgraph.chinacloudapi.cn')).toBe('https://microsoftgraph.chinacloudapi.cn/.default');
    expect(graphScopeFor('https://127.0.0.1:8443')).toBe('https://graph.microsoft.com/.default');
  });
});

describe('Graph alert source (security/alerts_v2)', () => {
  const T = new Date('2026-11-20T08:00:00.000Z');

  beforeEach(() => {
    demo.tenant.alerts.clear();
    graph.faults.length = 0;
  });

  it('follows every @odata.nextLink: 120 MDI alerts in 3 pages of 50, none from other products', async () => {
    const mdi = mdiAlertSeries(120, T, { tenantId: demo.tenant.tenantId });
    const mde = mdiAlertSeries(5, T, { overrides: { serviceSource: 'microsoftDefenderForEndpoint' } });
    for (const alert of [...mdi, ...mde]) putAlert(demo.tenant, alert);
    const { source } = graphSource({ now: () => new Date(T.getTime() + 3 * 3600_000) });
    const before = graph.requests.length;
    const batch = await source.fetchChanged(undefined);
    const calls = graph.requests.slice(before).filter(alertsPath);
    expect(calls).toHaveLength(3);
    expect(calls[0]?.query.get('$top')).toBe('50');
    expect(calls[0]?.query.get('$filter')).toBe(`serviceSource eq 'microsoftDefenderForIdentity' and lastUpdateDateTime ge ${new Date(T.getTime() + 3 * 3600_000 - 86_400_000).toISOString()}`);
    expect(batch.alerts.map((a) => a.sourceId).sort()).toEqual(mdi.map((a) => a.id).sort());
    expect(batch.alerts.every((a) => a.source === 'graph' && a.key !== a.sourceId)).toBe(true);
    expect(batch.problems).toEqual([]);
    expect(batch.partial).toBe(false);
    expect(batch.watermark?.toISOString()).toBe(new Date(T.getTime() + 119 * 60_000).toISOString());
  });

  it('returns what changed since the watermark, re-reading the overlap window and nothing older', async () => {
    const since = new Date(T.getTime() + 3600_000);
    const old = putAlert(demo.tenant, mdiAlert({ lastUpdateDateTime: new Date(since.getTime() - 10 * 60_000), createdDateTime: new Date(since.getTime() - 10 * 60_000) }));
    const inOverlap = putAlert(demo.tenant, mdiAlert({ lastUpdateDateTime: new Date(since.getTime() - 60_000), createdDateTime: new Date(since.getTime() - 60_000) }));
    const stale = putAlert(demo.tenant, mdiAlert({ createdDateTime: new Date(since.getTime() - 3600_000) }));
    const changedAt = new Date(since.getTime() + 5 * 60_000);
    updateAlert(demo.tenant, stale.id, { status: 'inProgress' }, changedAt);
    const { source } = graphSource();
    const batch = await source.fetchChanged(since);
    expect(batch.alerts.map((a) => a.sourceId).sort()).toEqual([inOverlap.id, stale.id].sort());
    expect(batch.alerts.map((a) => a.sourceId)).not.toContain(old.id);
    expect(batch.alerts.find((a) => a.sourceId === stale.id)?.status).toBe('inProgress');
    expect(batch.watermark?.toISOString()).toBe(changedAt.toISOString());
    // Nothing new: the watermark stays where it was instead of moving back into the overlap.
    demo.tenant.alerts.delete(stale.id);
    expect((await source.fetchChanged(since)).watermark?.toISOString()).toBe(since.toISOString());
  });

  it('maps unknown enum values, unknown evidence and a device-only alert; a malformed alert becomes a problem', async () => {
    const at = (minutes: number) => new Date(T.getTime() + minutes * 60_000);
    const odd = putAlert(demo.tenant, mdiAlert({ severity: 'critical', status: 'someNewStatus', extraEvidence: [unknownEvidence()], lastUpdateDateTime: at(1), createdDateTime: at(1) }));
    const deviceOnly = putAlert(demo.tenant, mdiAlert({ kind: 'ldapEnumeration', accounts: [], device: { hostName: 'WS-0099', ipAddress: '10.1.2.99' }, lastUpdateDateTime: at(2), createdDateTime: at(2) }));
    putAlert(demo.tenant, mdiAlert({ id: '', overrides: { providerAlertId: null }, lastUpdateDateTime: at(3), createdDateTime: at(3) }));
    const fine = putAlert(demo.tenant, mdiAlert({ accounts: [demo.people.alice], lastUpdateDateTime: at(4), createdDateTime: at(4) }));
    const { source } = graphSource();
    const batch = await source.fetchChanged(T);
    expect(batch.alerts.map((a) => a.sourceId).sort()).toEqual([odd.id, deviceOnly.id, fine.id].sort());
    const mappedOdd = batch.alerts.find((a) => a.sourceId === odd.id);
    expect(mappedOdd).toMatchObject({ severity: 'unknown', status: 'unknown' });
    expect(mappedOdd?.accounts.length).toBe(1);
    const mappedDevice = batch.alerts.find((a) => a.sourceId === deviceOnly.id);
    expect(mappedDevice?.accounts).toEqual([]);
    expect(mappedDevice?.devices[0]).toMatchObject({ hostName: 'WS-0099', ipAddress: '10.1.2.99' });
    expect(batch.alerts.find((a) => a.sourceId === fine.id)?.accounts[0]?.userPrincipalName).toBe(demo.people.alice.userPrincipalName);
    expect(batch.problems).toContainEqual({ sourceId: odd.id, message: "severity 'critical' is not known; using 'unknown'" });
    expect(batch.problems.filter((p) => p.message.startsWith('Skipped a Graph alert'))).toEqual([{ message: "Skipped a Graph alert: The Graph alert has no usable 'id'." }]);
    expect(batch.partial).toBe(false);
    expect(batch.watermark?.toISOString()).toBe(at(4).toISOString());
  });

  /** Calls the source until it has nothing more to read at once, as the notifier does; every batch kept. */
  async function readAll(source: AlertSource, since: Date | undefined) {
    const batches: Awaited<ReturnType<AlertSource['fetchChanged']>>[] = [];
    let watermark = since;
    for (let call = 0; call < 50; call++) {
      const batch = await source.fetchChanged(watermark);
      batches.push(batch);
      // The watermark only ever moves forward.
      if (watermark && batch.watermark) expect(batch.watermark.getTime()).toBeGreaterThanOrEqual(watermark.getTime());
      watermark = batch.watermark;
      if (!batch.more) break;
    }
    return { batches, watermark, ids: new Set(batches.flatMap((b) => b.alerts.map((a) => a.sourceId))) };
  }

  it('more changes in one window than maxPages × pageSize: the window is narrowed, the watermark advances, every alert is read', async () => {
    const series = mdiAlertSeries(20, T);
    for (const alert of series) putAlert(demo.tenant, alert);
    const { source, log } = graphSource({ pageSize: 3, maxPages: 2, now: () => new Date(T.getTime() + 30 * 60_000) });
    const before = graph.requests.length;
    const { batches, watermark, ids } = await readAll(source, new Date(T.getTime() - 3600_000));
    expect([...ids].sort()).toEqual(series.map((a) => a.id).sort());
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.slice(0, -1).every((b) => b.more === true && b.partial === false)).toBe(true);
    expect(batches.at(-1)?.more).toBeFalsy();
    expect(watermark?.toISOString()).toBe(series.at(-1)!.lastUpdateDateTime);
    // Narrowed windows are bounded above (lt) on lastUpdateDateTime, as alerts_v2 allows.
    const filters = graph.requests.slice(before).filter(alertsPath).map((r) => r.query.get('$filter') ?? '');
    expect(filters.some((f) => /lastUpdateDateTime ge \S+ and lastUpdateDateTime lt \S+$/.test(f))).toBe(true);
    expect(log.lines().some((l) => l.level === 'warn' && String(l.msg).includes('page limit'))).toBe(true);

    // Later alerts are read too: the watermark did not stop.
    const later = mdiAlertSeries(4, new Date(T.getTime() + 40 * 60_000));
    for (const alert of later) putAlert(demo.tenant, alert);
    const next = await readAll(source, watermark);
    for (const alert of later) expect(next.ids.has(alert.id)).toBe(true);
    expect(next.watermark?.toISOString()).toBe(later.at(-1)!.lastUpdateDateTime);
  });

  it('with the production page size and limit (50 × 100): 5,300 alerts changed in one window are all read, none twice per batch', { timeout: 120_000 }, async () => {
    const series = mdiAlertSeries(5300, new Date(T.getTime() - 5300 * 60_000)).map((a, i) => ({ ...a, lastUpdateDateTime: new Date(T.getTime() - (5300 - i) * 1000).toISOString() }));
    for (const alert of series) putAlert(demo.tenant, alert);
    const { source } = graphSource({ now: () => T });
    const { batches, watermark, ids } = await readAll(source, new Date(T.getTime() - 2 * 3600_000));
    expect(ids.size).toBe(5300);
    for (const batch of batches) expect(new Set(batch.alerts.map((a) => a.sourceId)).size).toBe(batch.alerts.length);
    expect(watermark?.toISOString()).toBe(series.at(-1)!.lastUpdateDateTime);
  });

  it('more than a full read of changes within one millisecond: after narrowing down to it, partial, a problem saying so, the watermark not past it', async () => {
    const at = new Date(T.getTime() + 60_000);
    for (let i = 0; i < 7; i++) putAlert(demo.tenant, mdiAlert({ createdDateTime: at, lastUpdateDateTime: at }));
    const { source } = graphSource({ pageSize: 3, maxPages: 2 });
    const { batches, watermark } = await readAll(source, new Date(T.getTime() - 3600_000));
    const last = batches.at(-1)!;
    expect(last.partial).toBe(true);
    expect(last.alerts.length).toBeGreaterThanOrEqual(6);
    expect(watermark!.getTime()).toBeLessThanOrEqual(at.getTime());
    expect(last.problems.at(-1)?.message).toContain('Stopped after 2 pages');
  });

  it('ends a persistent 503 in UPSTREAM_ERROR after the bounded retries', async () => {
    putAlert(demo.tenant, mdiAlert({ lastUpdateDateTime: T, createdDateTime: T }));
    graph.faults.push({ match: alertsPath, status: 503, times: Number.POSITIVE_INFINITY });
    const { source } = graphSource({ maxRetries: 2 });
    const before = graph.requests.filter(alertsPath).length;
    const error = await appError(source.fetchChanged(T));
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.details.status).toBe(503);
    expect(error.message).toContain('HTTP 503');
    expect(graph.requests.filter(alertsPath).length - before).toBe(3);
  });

  it('waits out a short Retry-After, but surfaces a long one as UPSTREAM_THROTTLED at once', async () => {
    putAlert(demo.tenant, mdiAlert({ lastUpdateDateTime: T, createdDateTime: T }));
    graph.faults.push({ match: alertsPath, status: 429, retryAfterSeconds: 1, times: 1 });
    const { source } = graphSource({ maxRetryAfterSeconds: 5 });
    let started = Date.now();
    expect((await source.fetchChanged(T)).alerts).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    graph.faults.push({ match: alertsPath, status: 429, retryAfterSeconds: 120, times: Number.POSITIVE_INFINITY });
    started = Date.now();
    const error = await appError(source.fetchChanged(T));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.code).toBe('UPSTREAM_THROTTLED');
    expect(error.details.retryAfterSeconds).toBe(120);
  });

  it('turns a refused secret into UPSTREAM_FORBIDDEN with a sentence, and a missing permission into one naming it', async () => {
    const wrong = await appError(graphSource({ azure: { clientSecret: new Secret('not-the-secret') } }).source.fetchChanged(T));
    expect(wrong.code).toBe('UPSTREAM_FORBIDDEN');
    expect(wrong.message).toMatch(/^Entra ID refused to issue a token for https:\/\/graph\.microsoft\.com\/\.default \(AADSTS7000215\): check AZURE_TENANT_ID, AZURE_CLIENT_ID/);
    expect(wrong.message).not.toContain('not-the-secret');

    const denied = await appError(graphSource({ azure: { clientId: readerWithoutAlerts, clientSecret: new Secret(otherSecret) } }).source.fetchChanged(T));
    expect(denied.code).toBe('UPSTREAM_FORBIDDEN');
    expect(denied.details.status).toBe(403);
    expect(denied.message).toContain('SecurityAlert.Read.All');
  });

  it('honours the per-request timeout when Graph stalls', async () => {
    // Graph holds the request until the test ends: only the 300 ms timeout can end the call.
    const stall = gate();
    onTestFinished(() => stall.open());
    graph.faults.push({ match: alertsPath, until: stall.opened, times: 1 });
    const { source } = graphSource({ timeoutMs: 300, maxRetries: 0 });
    const started = Date.now();
    const error = await appError(source.fetchChanged(T));
    expect(error.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("rethrows the caller's abort instead of mapping it", async () => {
    graph.faults.push({ match: alertsPath, delayMs: 1500, times: 1 });
    const { source } = graphSource({ maxRetries: 0 });
    const reason = await source.fetchChanged(T, AbortSignal.timeout(200)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(reason?.name).toBe('TimeoutError');
    expect(reason).not.toBeInstanceOf(AppError);
  });
});

const NOW = new Date('2026-11-20T10:00:00.000Z');

describe('Sentinel query text', () => {
  it('builds the newest-version-per-alert query with the default MDI predicate, on ingestion time, without customised alerts', () => {
    expect(buildSentinelAlertQuery({ from: new Date('2026-11-20T09:00:00Z'), rowLimit: 500 })).toBe(
      [
        'SecurityAlert',
        '| where TimeGenerated >= datetime(2026-11-18T09:00:00.000Z)',
        '| extend IngestionTime = ingestion_time()',
        '| where IngestionTime >= datetime(2026-11-20T09:00:00.000Z)',
        '| where ProductName in ("Azure Advanced Threat Protection", "Microsoft Defender for Identity") or ProviderName in ("Azure Advanced Threat Protection", "Microsoft Defender for Identity")',
        '| where not(bag_has_key(todynamic(ExtendedProperties), "OriginalProductName"))',
        '| summarize arg_max(TimeGenerated, *) by SystemAlertId',
        '| sort by IngestionTime asc, SystemAlertId asc',
        '| take 500',
      ].join('\n'),
    );
    expect(DEFAULT_MDI_PREDICATE).not.toContain('MDATP');
    expect(buildSentinelAlertQuery({ from: NOW, filter: ' AlertSeverity == "High" or Status == "New" ' })).toContain('| where (AlertSeverity == "High" or Status == "New")\n');
  });

  it('accepts one predicate and refuses anything that would change the query shape', () => {
    expect(validateKqlPredicate('ProductName == "a | b; c // d" and (x == \'it\\\'s\')')).toBe('ProductName == "a | b; c // d" and (x == \'it\\\'s\')');
    expect(validateKqlPredicate('Path == @"C:\\temp" and Name == @"say ""hi"""')).toBe('Path == @"C:\\temp" and Name == @"say ""hi"""');
    for (const bad of ['', 'x == 1 | take 0', 'x == 1; SecurityAlert', 'x == 1 // )', 'x == 1) or (1 == 1', '(x == 1', 'x == "open', 'x == ```y```']) {
      expect(() => validateKqlPredicate(bad), bad).toThrow(/^SENTINEL_ALERT_FILTER must be a single KQL predicate/);
    }
  });
});

describe('Sentinel alert source (SecurityAlert through LogsQueryClient)', () => {
  const since = new Date('2026-11-20T09:00:00.000Z');

  function sentinelSource(filter?: string): AlertSource {
    const log = captureLogger();
    return createSentinelAlertSource({
      credential: createAzureCredential(azureConfig(), { timeoutMs: 5000 }),
      endpoint: la.endpoint,
      workspaceId: WORKSPACE,
      ...(filter === undefined ? {} : { filter }),
      overlapSeconds: 300,
      logger: log.logger,
      timeoutMs: 5000,
      maxRetries: 0,
      now: () => NOW,
    });
  }

  beforeEach(() => {
    la.clearAlerts();
    la.queries.length = 0;
  });

  /** Seeds rows as ingested the moment they were generated (no ingestion delay). */
  function addOnTime(rows: SecurityAlertRow[]): void {
    for (const row of rows) la.addAlerts([row], { ingestedAt: new Date(String(row.TimeGenerated)) });
  }

  it('reads MDI rows under each label with the default filter, and no other product', async () => {
    addOnTime([
      makeMdiSecurityAlert({ vendorOriginalId: 'aatp', labels: 'aatp', timeGenerated: '2026-11-20T09:10:00Z' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'renamed', labels: 'renamed', timeGenerated: '2026-11-20T09:20:00Z' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'mixed', labels: 'mixed', timeGenerated: '2026-11-20T09:30:00Z' }),
      { ...makeMdiSecurityAlert({ vendorOriginalId: 'mde', timeGenerated: '2026-11-20T09:40:00Z' }), ProductName: 'Microsoft Defender Advanced Threat Protection', ProviderName: 'MDATP' },
      { ...makeMdiSecurityAlert({ vendorOriginalId: 'ipc', timeGenerated: '2026-11-20T09:45:00Z' }), ProductName: 'Azure Active Directory Identity Protection', ProviderName: 'IPC' },
    ]);
    const batch = await sentinelSource().fetchChanged(since);
    expect(batch.alerts.map((a) => a.key)).toEqual(['aatp', 'renamed', 'mixed']);
    expect(batch.alerts[0]).toMatchObject({ source: 'sentinel', severity: 'high', status: 'new' });
    expect(batch.alerts[0]?.accounts[0]).toMatchObject({ samAccountName: 'alice', domain: 'CONTOSO' });
    expect(batch.problems).toEqual([]);
    expect(batch.partial).toBe(false);
    expect(batch.watermark?.toISOString()).toBe('2026-11-20T09:30:00.000Z');
    // TimeGenerated is scanned 48 h further back than the ingestion watermark, for late rows.
    expect(la.queries.at(-1)).toMatchObject({ status: 200, timespan: '2026-11-18T08:55:00.000Z/2026-11-20T10:05:00.000Z' });
    expect(la.queries.at(-1)?.query).toContain('datetime(2026-11-20T08:55:00.000Z)');
  });

  it('re-reads the overlap window before the watermark and nothing older', async () => {
    addOnTime([
      makeMdiSecurityAlert({ vendorOriginalId: 'too-old', timeGenerated: '2026-11-20T08:50:00Z' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'late', timeGenerated: '2026-11-20T08:58:00Z' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'new', timeGenerated: '2026-11-20T09:05:00Z' }),
    ]);
    const batch = await sentinelSource().fetchChanged(since);
    expect(batch.alerts.map((a) => a.key)).toEqual(['late', 'new']);
  });

  it('reads a row ingested 20 minutes after it was generated (a TimeGenerated watermark skipped it for good)', async () => {
    // The previous poll's watermark is 09:00 (ingestion time). The late row was generated at
    // 08:40, 20 minutes before it was ingested at 09:00:30: older than any TimeGenerated overlap.
    la.addAlerts([makeMdiSecurityAlert({ systemAlertId: 'sys-late', vendorOriginalId: 'late-20', timeGenerated: '2026-11-20T08:40:00Z' })], { ingestedAt: new Date('2026-11-20T09:00:30Z') });
    addOnTime([makeMdiSecurityAlert({ systemAlertId: 'sys-on-time', vendorOriginalId: 'on-time', timeGenerated: '2026-11-20T09:02:00Z' })]);
    const batch = await sentinelSource().fetchChanged(since);
    expect(batch.alerts.map((a) => a.key)).toEqual(['late-20', 'on-time']);
    expect(batch.watermark?.toISOString()).toBe('2026-11-20T09:02:00.000Z');
    // Rows ingested before the watermark's overlap are not read again, however recent their TimeGenerated.
    la.addAlerts([makeMdiSecurityAlert({ vendorOriginalId: 'seen-long-ago', timeGenerated: '2026-11-20T09:30:00Z' })], { ingestedAt: new Date('2026-11-20T08:30:00Z') });
    const next = await sentinelSource().fetchChanged(new Date('2026-11-20T09:30:00Z'));
    expect(next.alerts.map((a) => a.key)).toEqual([]);
  });

  it('leaves out customised copies of an alert (ExtendedProperties.OriginalProductName), as the MDI connector does', async () => {
    addOnTime([
      makeMdiSecurityAlert({ systemAlertId: 'sys-original', vendorOriginalId: 'custom-1', timeGenerated: '2026-11-20T09:10:00Z' }),
      makeMdiSecurityAlert({ systemAlertId: 'sys-customised', vendorOriginalId: 'custom-1', timeGenerated: '2026-11-20T09:11:00Z', customised: true, severity: 'Low' }),
      makeMdiSecurityAlert({ systemAlertId: 'sys-customised-only', vendorOriginalId: 'custom-2', timeGenerated: '2026-11-20T09:12:00Z', customised: true }),
    ]);
    const batch = await sentinelSource().fetchChanged(since);
    expect(batch.alerts.map((a) => [a.key, a.sourceId, a.severity])).toEqual([['custom-1', 'sys-original', 'high']]);
    // Also under an operator's own filter: the exclusion is about the connector's rows, not the product.
    const filtered = await sentinelSource('AlertSeverity == "Low" or AlertSeverity == "High"').fetchChanged(since);
    expect(filtered.alerts.map((a) => a.sourceId)).toEqual(['sys-original']);
  });

  it('lets SENTINEL_ALERT_FILTER replace the MDI predicate', async () => {
    addOnTime([
      makeMdiSecurityAlert({ vendorOriginalId: 'mdi-high', severity: 'High', timeGenerated: '2026-11-20T09:10:00Z' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'mdi-low', severity: 'Low', timeGenerated: '2026-11-20T09:20:00Z' }),
      { ...makeMdiSecurityAlert({ vendorOriginalId: 'mde-high', severity: 'High', timeGenerated: '2026-11-20T09:30:00Z' }), ProductName: 'Microsoft Defender Advanced Threat Protection', ProviderName: 'MDATP' },
    ]);
    const batch = await sentinelSource('AlertSeverity == "High"').fetchChanged(since);
    expect(batch.alerts.map((a) => a.key)).toEqual(['mdi-high', 'mde-high']);
    expect(la.queries.at(-1)?.query).toContain('| where (AlertSeverity == "High")');
    expect(la.queries.at(-1)?.query).not.toContain('ProductName in');
  });

  it('collapses the versions of one alert to the newest', async () => {
    const base = makeMdiSecurityAlert({ systemAlertId: 'sys-1', vendorOriginalId: 'graph-1', timeGenerated: '2026-11-20T09:10:00Z' });
    addOnTime(makeAlertVersions(base, [{ Status: 'InProgress' }, { Status: 'Resolved' }]));
    addOnTime([makeMdiSecurityAlert({ systemAlertId: 'sys-2', vendorOriginalId: 'graph-2', timeGenerated: '2026-11-20T09:12:00Z' })]);
    const batch = await sentinelSource().fetchChanged(since);
    expect(batch.alerts.map((a) => [a.sourceId, a.status])).toEqual([
      ['sys-2', 'new'],
      ['sys-1', 'resolved'],
    ]);
    expect(batch.watermark?.toISOString()).toBe('2026-11-20T09:20:00.000Z');
  });

  it('returns the rows of a partial result, marked partial with the service error as a problem', async () => {
    addOnTime([1, 2, 3].map((n) => makeMdiSecurityAlert({ vendorOriginalId: `p${n}`, timeGenerated: `2026-11-20T09:0${n}:00Z` })));
    la.injectFault({ kind: 'partial', keepRows: 2 });
    const batch = await sentinelSource().fetchChanged(since);
    expect(batch.partial).toBe(true);
    expect(batch.alerts.map((a) => a.key)).toEqual(['p1', 'p2']);
    expect(batch.problems).toEqual([{ message: 'Log Analytics returned part of the result only (PartialError): Query result set has exceeded the internal data size limit' }]);
    // Rows the service dropped may be older than the newest returned: the watermark stays put,
    // and the next (complete) poll from it brings the missing one.
    expect(batch.watermark?.toISOString()).toBe(since.toISOString());
    const next = await sentinelSource().fetchChanged(batch.watermark);
    expect(next.partial).toBe(false);
    expect(next.alerts.map((a) => a.key)).toContain('p3');
  });

  it('maps a row with malformed Entities without accounts, plus a problem', async () => {
    addOnTime([makeMdiAlertWithMalformedEntities({ systemAlertId: 'sys-bad', vendorOriginalId: 'bad', timeGenerated: '2026-11-20T09:10:00Z' })]);
    const batch = await sentinelSource().fetchChanged(since);
    expect(batch.alerts).toHaveLength(1);
    expect(batch.alerts[0]).toMatchObject({ key: 'bad', accounts: [] });
    expect(batch.problems).toEqual([{ sourceId: 'sys-bad', message: 'Entities is not valid JSON; alert kept without accounts or devices' }]);
  });

  it('reports a filter the service refuses as CONFIG_INVALID (HTTP 400) with a sentence', async () => {
    const error = await appError(sentinelSource('ProductName contains "Identity"').fetchChanged(since));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.details).toMatchObject({ status: 400, serviceCode: 'BadArgumentError' });
    expect(error.message).toMatch(/^Log Analytics refused the Sentinel alert query built from SENTINEL_ALERT_FILTER: .+\. Fix the filter/);
    expect(() => sentinelSource('AlertSeverity == "High" | take 0')).toThrow(/SENTINEL_ALERT_FILTER must be a single KQL predicate/);
  });

  it('reports a persistent 503 as UPSTREAM_ERROR and a 429 as UPSTREAM_THROTTLED', async () => {
    la.injectFault({ kind: 'status', status: 503 });
    expect((await appError(sentinelSource().fetchChanged(since))).code).toBe('UPSTREAM_ERROR');
    la.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 30 });
    const throttled = await appError(sentinelSource().fetchChanged(since));
    expect(throttled.code).toBe('UPSTREAM_THROTTLED');
    expect(throttled.details.retryAfterSeconds).toBe(30);
  });
});
