import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClientSecretCredential } from '@azure/identity';
import { LogsQueryClient, type LogsTable } from '@azure/monitor-query-logs';
import { startEntraTokenServer, verifyBearer, LOG_ANALYTICS_AUDIENCE, type EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { startLogAnalyticsServer, type LogAnalyticsServer } from '../../sim/loganalytics/log-analytics-server.ts';
import { ALICE, makeAlertVersions, makeMdiAlertWithMalformedEntities, makeMdiAlertWithoutAccount, makeMdiAlertWithUnknownSeverity, makeMdiSecurityAlert } from '../../sim/loganalytics/security-alert-factory.ts';

// The local Log Analytics stand-in, driven by the real LogsQueryClient with a real
// ClientSecretCredential against the local Entra token endpoint.
const WORKSPACE = '5f0c2c8e-1111-2222-3333-444455556666';
const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT_ID = 'a0b1c2d3-0000-4000-8000-00000000b07';
const NOW = new Date('2026-11-20T10:00:00.000Z');

let entra: EntraTokenServer;
let la: LogAnalyticsServer;
let client: LogsQueryClient;

function rowsAsObjects(table: LogsTable): Record<string, unknown>[] {
  return table.rows.map((row) => Object.fromEntries(table.columnDescriptors.map((c, i) => [c.name ?? String(i), row[i]])));
}

beforeAll(async () => {
  entra = await startEntraTokenServer({ clients: [{ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: 'local-test-secret' }] });
  la = await startLogAnalyticsServer({
    workspaceId: WORKSPACE,
    now: () => NOW,
    verifyToken: (header) => verifyBearer(header, LOG_ANALYTICS_AUDIENCE).ok,
  });
  const credential = new ClientSecretCredential(TENANT, CLIENT_ID, 'local-test-secret', { authorityHost: entra.url, disableInstanceDiscovery: true });
  // Retries off: a fault must be visible here, not absorbed by the SDK's retry policy.
  client = new LogsQueryClient(credential, { endpoint: la.endpoint, retryOptions: { maxRetries: 0 } });
});

afterAll(async () => {
  await la?.close();
  await entra?.close();
});

beforeEach(() => {
  la.clearAlerts();
  la.queries.length = 0;
});

describe('local Log Analytics through LogsQueryClient', () => {
  it('filters SecurityAlert rows and returns them typed (datetimes as Date)', async () => {
    la.addAlerts([
      makeMdiSecurityAlert({ vendorOriginalId: 'graph-1', severity: 'High', timeGenerated: '2026-11-20T09:30:00Z' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'graph-2', severity: 'Low', timeGenerated: '2026-11-20T09:40:00Z' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'graph-3', severity: 'Medium', timeGenerated: '2026-11-20T09:50:00Z' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'old', severity: 'High', timeGenerated: '2026-11-20T07:00:00Z' }),
    ]);
    const query = `SecurityAlert
      | where ProductName == "Azure Advanced Threat Protection" and AlertSeverity in ("High", "Medium")
      | where TimeGenerated >= ago(1h) and isnotempty(VendorOriginalId)
      | order by TimeGenerated asc
      | project TimeGenerated, VendorOriginalId, AlertSeverity, Entities`;
    const result = await client.queryWorkspace(WORKSPACE, query, { duration: 'P1D' });
    expect(result.status).toBe('Success');
    if (result.status !== 'Success') return;
    const table = result.tables[0]!;
    expect(table.columnDescriptors).toEqual([
      { name: 'TimeGenerated', type: 'datetime' },
      { name: 'VendorOriginalId', type: 'string' },
      { name: 'AlertSeverity', type: 'string' },
      { name: 'Entities', type: 'string' },
    ]);
    const rows = rowsAsObjects(table);
    expect(rows.map((r) => r.VendorOriginalId)).toEqual(['graph-1', 'graph-3']);
    expect(rows[0]!.TimeGenerated).toBeInstanceOf(Date);
    expect((rows[0]!.TimeGenerated as Date).toISOString()).toBe('2026-11-20T09:30:00.000Z');
    // Entities stays a string column holding JSON with $id / $ref, as Sentinel sends it.
    const entities = JSON.parse(rows[0]!.Entities as string) as Record<string, unknown>[];
    expect(entities[0]).toMatchObject({ $id: '2', Name: ALICE.name, NTDomain: 'CONTOSO', Sid: ALICE.sid, AadUserId: ALICE.aadUserId, Type: 'account' });
    expect(entities.at(-1)).toEqual({ $ref: '2' });
    expect(la.queries.at(-1)).toMatchObject({ status: 200, rowCount: 2, timespan: 'P1D' });
  });

  it('honours the request timespan against TimeGenerated (start/end)', async () => {
    la.addAlerts([
      makeMdiSecurityAlert({ vendorOriginalId: 'in', timeGenerated: '2026-11-20T08:30:00Z' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'out', timeGenerated: '2026-11-20T09:30:00Z' }),
    ]);
    const result = await client.queryWorkspace(WORKSPACE, 'SecurityAlert | project VendorOriginalId', {
      startTime: new Date('2026-11-20T08:00:00Z'),
      endTime: new Date('2026-11-20T09:00:00Z'),
    });
    expect(result.status).toBe('Success');
    if (result.status === 'Success') expect(result.tables[0]!.rows).toEqual([['in']]);
  });

  it('matches every MDI label variant with a product-or-provider filter, and nothing else', async () => {
    la.addAlerts([
      makeMdiSecurityAlert({ vendorOriginalId: 'aatp', labels: 'aatp' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'renamed', labels: 'renamed' }),
      makeMdiSecurityAlert({ vendorOriginalId: 'mixed', labels: 'mixed' }),
      { ...makeMdiSecurityAlert({ vendorOriginalId: 'mde' }), ProductName: 'Microsoft Defender Advanced Threat Protection', ProviderName: 'MDATP' },
    ]);
    const query = `SecurityAlert
      | where ProductName in ("Azure Advanced Threat Protection", "Microsoft Defender for Identity") or ProviderName == "Microsoft Defender for Identity"
      | sort by VendorOriginalId asc | project VendorOriginalId`;
    const result = await client.queryWorkspace(WORKSPACE, query, { duration: 'P7D' });
    expect(result.status === 'Success' && result.tables[0]!.rows.map((r) => r[0])).toEqual(['aatp', 'mixed', 'renamed']);
    const onlyAatp = await client.queryWorkspace(WORKSPACE, 'SecurityAlert | where ProductName == "Azure Advanced Threat Protection" | sort by VendorOriginalId asc | project VendorOriginalId', { duration: 'P7D' });
    expect(onlyAatp.status === 'Success' && onlyAatp.tables[0]!.rows.map((r) => r[0])).toEqual(['aatp', 'mixed']);
  });

  it('summarize arg_max(TimeGenerated, *) by SystemAlertId returns the newest version of each alert', async () => {
    const base = makeMdiSecurityAlert({ systemAlertId: 'sys-1', vendorOriginalId: 'graph-1', timeGenerated: '2026-11-20T09:00:00Z' });
    la.addAlerts(makeAlertVersions(base, [{ Status: 'InProgress' }, { Status: 'Resolved' }]));
    la.addAlerts([makeMdiAlertWithoutAccount({ systemAlertId: 'sys-2', timeGenerated: '2026-11-20T09:20:00Z' })]);
    const result = await client.queryWorkspace(
      WORKSPACE,
      'SecurityAlert | summarize arg_max(TimeGenerated, *) by SystemAlertId | sort by SystemAlertId asc | project SystemAlertId, Status, TimeGenerated, CompromisedEntity',
      { duration: 'P1D' },
    );
    expect(result.status).toBe('Success');
    if (result.status !== 'Success') return;
    expect(result.tables[0]!.rows).toEqual([
      ['sys-1', 'Resolved', new Date('2026-11-20T09:10:00Z'), 'alice@contoso.com'],
      ['sys-2', 'New', new Date('2026-11-20T09:20:00Z'), ''],
    ]);
    // Without a project the by-column comes first, then the maximised column, then the rest once.
    const full = await client.queryWorkspace(WORKSPACE, 'SecurityAlert | summarize arg_max(TimeGenerated, *) by SystemAlertId', { duration: 'P1D' });
    if (full.status !== 'Success') throw new Error('expected success');
    const names = full.tables[0]!.columnDescriptors.map((c) => c.name);
    expect(names.slice(0, 3)).toEqual(['SystemAlertId', 'TimeGenerated', 'TenantId']);
    expect(names.filter((n) => n === 'SystemAlertId')).toHaveLength(1);
  });

  it('keeps odd rows as data: malformed Entities and an unknown severity come back verbatim', async () => {
    la.addAlerts([makeMdiAlertWithMalformedEntities({ vendorOriginalId: 'bad' }), makeMdiAlertWithUnknownSeverity({ vendorOriginalId: 'crit' })]);
    const result = await client.queryWorkspace(WORKSPACE, 'SecurityAlert | sort by VendorOriginalId asc | project VendorOriginalId, AlertSeverity, Entities, ConfidenceScore, IsIncident', { duration: 'P7D' });
    if (result.status !== 'Success') throw new Error('expected success');
    const [bad, crit] = rowsAsObjects(result.tables[0]!);
    expect(() => JSON.parse(bad!.Entities as string)).toThrow();
    expect(crit).toMatchObject({ AlertSeverity: 'Critical', ConfidenceScore: null, IsIncident: false });
    expect(result.tables[0]!.columnDescriptors.map((c) => c.type)).toEqual(['string', 'string', 'string', 'real', 'bool']);
  });

  it('surfaces a partial result as PartialFailure with the returned rows and the error', async () => {
    la.addAlerts([1, 2, 3].map((n) => makeMdiSecurityAlert({ vendorOriginalId: `p${n}`, timeGenerated: `2026-11-20T09:0${n}:00Z` })));
    la.injectFault({ kind: 'partial', keepRows: 2 });
    const result = await client.queryWorkspace(WORKSPACE, 'SecurityAlert | sort by TimeGenerated asc | project VendorOriginalId', { duration: 'PT1H' });
    expect(result.status).toBe('PartialFailure');
    if (result.status !== 'PartialFailure') return;
    expect(result.partialTables[0]!.rows).toEqual([['p1'], ['p2']]);
    expect(result.partialError.code).toBe('PartialError');
    expect(result.partialError.message).toMatch(/errors when processing/);
    // The next query is whole again: the fault was consumed.
    const again = await client.queryWorkspace(WORKSPACE, 'SecurityAlert | project VendorOriginalId', { duration: 'PT1H' });
    expect(again.status === 'Success' && again.tables[0]!.rows).toHaveLength(3);
  });

  it('answers unsupported KQL with 400 BadArgumentError the SDK turns into a clear error', async () => {
    const error = await client.queryWorkspace(WORKSPACE, 'SecurityAlert | extend Upn = tostring(CompromisedEntity)', { duration: 'PT1H' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RestError', statusCode: 400, code: 'BadArgumentError' });
    const details = (error as { details: { error: { innererror: { code: string; innererror: { code: string; message: string } } } } }).details;
    expect(details.error.innererror.code).toBe('SyntaxError');
    expect(details.error.innererror.innererror.code).toBe('SYN0002');
    expect(details.error.innererror.innererror.message).toMatch(/'tostring'.*not supported/);
  });

  it('refuses type-confused comparisons and unknown columns like Kusto does', async () => {
    const asString = await client.queryWorkspace(WORKSPACE, 'SecurityAlert | where TimeGenerated > "2026-11-20"', { duration: 'PT1H' }).catch((e: unknown) => e);
    expect(asString).toMatchObject({ statusCode: 400, details: { error: { innererror: { code: 'SemanticError' } } } });
    const unknown = await client.queryWorkspace(WORKSPACE, 'SecurityAlert | where Severity == "High"', { duration: 'PT1H' }).catch((e: unknown) => e);
    expect((unknown as Error).message).toBeTruthy();
    expect(unknown).toMatchObject({ statusCode: 400 });
    expect(JSON.stringify((unknown as { details: unknown }).details)).toMatch(/Failed to resolve scalar expression named 'Severity'/);
  });

  it('passes 429 with Retry-After and 500 through to the caller when the SDK does not retry', async () => {
    la.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 2 });
    const throttled = await client.queryWorkspace(WORKSPACE, 'SecurityAlert', { duration: 'PT1H' }).catch((e: unknown) => e);
    expect(throttled).toMatchObject({ statusCode: 429 });
    expect((throttled as { response: { headers: { get(name: string): string | undefined } } }).response.headers.get('retry-after')).toBe('2');
    la.injectFault({ kind: 'status', status: 500 });
    await expect(client.queryWorkspace(WORKSPACE, 'SecurityAlert', { duration: 'PT1H' })).rejects.toMatchObject({ statusCode: 500 });
    expect(la.queries.map((q) => q.status)).toEqual([429, 500]);
  });

  it('lets the default SDK retry policy ride over one 429 (it honours Retry-After)', async () => {
    const credential = new ClientSecretCredential(TENANT, CLIENT_ID, 'local-test-secret', { authorityHost: entra.url, disableInstanceDiscovery: true });
    const retrying = new LogsQueryClient(credential, { endpoint: la.endpoint });
    la.addAlerts([makeMdiSecurityAlert({ timeGenerated: '2026-11-20T09:59:00Z' })]);
    la.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    const result = await retrying.queryWorkspace(WORKSPACE, 'SecurityAlert | take 5', { duration: 'PT1H' });
    expect(result.status).toBe('Success');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(la.queries.map((q) => q.status)).toEqual([429, 200]);
  });

  it('answers 401 without a valid Log Analytics token', async () => {
    const forged = new LogsQueryClient({ getToken: async () => ({ token: 'not-a-jwt', expiresOnTimestamp: Date.now() + 3_600_000 }) }, { endpoint: la.endpoint, retryOptions: { maxRetries: 0 } });
    await expect(forged.queryWorkspace(WORKSPACE, 'SecurityAlert', { duration: 'PT1H' })).rejects.toMatchObject({ statusCode: 401, code: 'AuthorizationRequiredError' });
    // A genuine token for another resource (Graph) is refused too: the audience is checked.
    const graphToken = await new ClientSecretCredential(TENANT, CLIENT_ID, 'local-test-secret', { authorityHost: entra.url, disableInstanceDiscovery: true }).getToken('https://graph.microsoft.com/.default');
    const wrongAudience = new LogsQueryClient({ getToken: async () => graphToken }, { endpoint: la.endpoint, retryOptions: { maxRetries: 0 } });
    await expect(wrongAudience.queryWorkspace(WORKSPACE, 'SecurityAlert', { duration: 'PT1H' })).rejects.toMatchObject({ statusCode: 401 });
    expect(la.queries).toHaveLength(0); // refused before the query is even read
  });

  it('answers 404 for another workspace', async () => {
    await expect(client.queryWorkspace('00000000-0000-0000-0000-000000000000', 'SecurityAlert', { duration: 'PT1H' })).rejects.toMatchObject({ statusCode: 404, code: 'WorkspaceNotFoundError' });
  });
});
