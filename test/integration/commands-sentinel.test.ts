import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { createGraphClient } from '../../src/adapters/graph/graph-client.ts';
import { createGraphUserLookup } from '../../src/adapters/graph/graph-user-lookup.ts';
import { createSentinelPersonAlerts } from '../../src/adapters/loganalytics/sentinel-person-alerts.ts';
import { createCommandHandler } from '../../src/commands/command-handler.ts';
import { createUserListReaderCheck } from '../../src/commands/reader-check.ts';
import type { SentinelAlertLookup } from '../../src/domain/ports/sentinel-alert-lookup.ts';
import type { Alert } from '../../src/domain/alert.ts';
import type { DirectoryUser } from '../../src/domain/ports/directory.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { ALICE_USER, personalMessage, type InboundActivity, type TeamsContext } from '../../sim/teams/bot-activity.ts';
import { startBotConnectorServer, type BotConnectorServer, type SentRecord } from '../../sim/teams/bot-connector-server.ts';
import { LOG_ANALYTICS_AUDIENCE, verifyBearer, type EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { startTokensAndGraph, type GraphServer } from '../../sim/graph/graph-server.ts';
import { tokenizeKql } from '../../sim/loganalytics/kql/kql-lexer.ts';
import { startLogAnalyticsServer, type LogAnalyticsServer } from '../../sim/loganalytics/log-analytics-server.ts';
import { makeMdiSecurityAlert, type MdiAccountSpec } from '../../sim/loganalytics/security-alert-factory.ts';
import { addUser, createTenant, type Tenant, type TenantUser } from '../../sim/tenant.ts';
import { checkTeamsCard } from '../support/card-rules.ts';
import { gate } from '../support/gate.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { startCommandBot, type CommandBot } from '../support/command-bot.ts';
import { requireSamba, sambaEnv, type SambaEnv } from '../support/samba.ts';
import { sambaDirectory } from '../support/samba-directory.ts';

/**
 * `lookup` with Sentinel configured, through /api/messages: the Samba AD DC, the local Graph and
 * Log Analytics stand-ins (real SDKs over TLS, a real token for each), a real SQLite store. The
 * card's "Recent MDI alerts" merges the store's alerts with Sentinel's SecurityAlert rows.
 */
const log = captureLogger();
const WORKSPACE = '5f0c2c8e-1111-2222-3333-444455556666';
const clientId = 'c0ffee00-0000-4000-8000-000000000002';
const secret = 'local-test-secret';
let env: SambaEnv;
let tokens: EntraTokenServer;
let graph: GraphServer;
let la: LogAnalyticsServer;
let connector: BotConnectorServer;
let store: Store;
let bot: CommandBot;
let tenant: Tenant;
let teams: TeamsContext;
let jdoe: DirectoryUser;
let jdoeAccount: MdiAccountSpec;
let entraJdoe: TenantUser | undefined;
let ohara: TenantUser;
let quoted: TenantUser;
let sentinel: SentinelAlertLookup;

beforeAll(async () => {
  const found = sambaEnv();
  const domainSid = 'S-1-5-21-3623811015-3361044348-30300820';
  if (found) {
    env = found;
    const directory = sambaDirectory(env, log.logger);
    [jdoe] = (await directory.findUsers('jdoe', 1)) as [DirectoryUser];
  }
  const sid = jdoe ? jdoe.sid.split('-').slice(0, -1).join('-') : domainSid;
  tenant = createTenant({ domain: env ? env.realm.toLowerCase() : 'corp.example.test', netbiosDomain: env?.domain ?? 'CORP', domainSid: sid });
  if (jdoe) entraJdoe = addUser(tenant, { name: 'jdoe', displayName: 'John Doe', rid: Number(jdoe.sid.split('-').at(-1)) });
  // A cloud-only user whose UPN holds an apostrophe, and a synced one whose name holds a double quote.
  ohara = addUser(tenant, { name: "o'hara", displayName: "Maeve O'Hara", synced: false });
  quoted = addUser(tenant, { name: 'q"uote', displayName: 'Quinn Quote', rid: 990_001 });
  ({ tokens, graph } = await startTokensAndGraph(tenant, [{ clientId, clientSecret: secret }]));
  la = await startLogAnalyticsServer({ workspaceId: WORKSPACE, verifyToken: (header) => verifyBearer(header, LOG_ANALYTICS_AUDIENCE).ok });
  const credential = new ClientSecretCredential(tenant.tenantId, clientId, secret, { authorityHost: tokens.url, disableInstanceDiscovery: true });
  sentinel = createSentinelPersonAlerts({ credential, endpoint: la.endpoint, workspaceId: WORKSPACE, logger: log.logger, timeoutMs: 1_500 });
  if (!env) return;
  jdoeAccount = { name: 'jdoe', ntDomain: env.domain, upnSuffix: tenant.domain, sid: jdoe.sid, displayName: 'John Doe' };

  connector = await startBotConnectorServer({ protocol: 'http' });
  store = await openStore({ databaseUrl: 'sqlite::memory:', logger: log.logger });
  const graphClient = createGraphClient({ credential, endpoint: graph.url, timeoutMs: 1_500, logger: log.logger, maxRetries: 0 });
  const onCommand = createCommandHandler({
    store,
    directory: sambaDirectory(env, log.logger),
    entra: createGraphUserLookup({ client: graphClient }),
    sentinel,
    capabilities: { activeDirectory: true, entra: true, okta: false },
    netbiosDomain: env.domain,
    minSeverity: 'low',
    logger: log.logger,
    sourceTimeoutMs: 1_500,
    // Alice (the sender of every message here) may read; the file runs more lookups than a person may per minute.
    readers: createUserListReaderCheck([ALICE_USER.aadObjectId]),
    lookupRatePerMinute: 10_000,
  });
  bot = await startCommandBot({ onCommand: onCommand, connector, logger: log.logger });
  teams = { serviceUrl: connector.serviceUrl, botAppId: '00000000-0000-0000-0000-00000000b07a' };
});

afterAll(async () => {
  await Promise.all([bot?.close(), tokens?.close(), graph?.close(), la?.close(), connector?.close()]);
  await store?.close();
});

beforeEach(() => {
  connector?.reset();
  la.clearAlerts();
  la.queries.length = 0;
});

const send = (activity: InboundActivity) => bot.send(activity);

function lookup(who: string): Promise<{ status: number; posts: SentRecord[] }> {
  return send(personalMessage(teams, { text: `lookup ${who}` }));
}

function cardOf(record: SentRecord | undefined): Record<string, unknown> {
  const attachment = (record?.activity?.attachments as { contentType: string; content: Record<string, unknown> }[] | undefined)?.[0];
  expect(attachment?.contentType).toBe('application/vnd.microsoft.card.adaptive');
  return attachment!.content;
}

/** The lines under "Recent MDI alerts", in card order. */
function alertLines(card: Record<string, unknown>): string[] {
  const containers = (card.body as { type: string; items?: { text?: string }[] }[]).filter((node) => node.type === 'Container');
  const list = containers.find((node) => node.items?.[0]?.text === 'Recent MDI alerts');
  expect(list).toBeDefined();
  return list!.items!.slice(1).map((item) => String(item.text));
}

const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();

/** The `has` line of the person query, and the values of its string literals as Kusto reads them. */
function searchedTerms(query: string): string[] {
  const line = query.split('\n').find((text) => text.includes(' has '));
  expect(line).toBeDefined();
  // Only `Entities has "<literal>"` joined by `or`: nothing outside a string literal but these words.
  expect(line).toMatch(/^\| where Entities has "(?:[^"\\]|\\.)*"(?: or Entities has "(?:[^"\\]|\\.)*")*$/);
  const tokens = tokenizeKql(line!.replace(/^\| where /, ''));
  expect(tokens.filter((token) => token.kind !== 'string' && token.kind !== 'eof').map((token) => token.text)).toEqual(
    tokens.filter((token) => token.kind === 'string').flatMap((_, i) => (i === 0 ? ['Entities', 'has'] : ['or', 'Entities', 'has'])),
  );
  return tokens.filter((token) => token.kind === 'string').map((token) => String(token.value));
}

describe('lookup with Sentinel through /api/messages', () => {
  it('shows an alert only Sentinel knows, and not the alerts the coarse search also hits', async (ctx) => {
    requireSamba(ctx);
    la.addAlerts([
      makeMdiSecurityAlert({ vendorOriginalId: 'sentinel-only-1', alertName: 'Suspected DCSync attack', timeGenerated: hoursAgo(2), accounts: [jdoeAccount] }),
      // Mentions "jdoe" as a term (jdoe.admin) but is another account: dropped after mapping.
      makeMdiSecurityAlert({ vendorOriginalId: 'other-1', alertName: 'Decoy about jdoe.admin', timeGenerated: hoursAgo(1), accounts: [{ name: 'jdoe.admin', ntDomain: env.domain, sid: `${tenant.domainSid}-990777` }] }),
      // Same person, but Defender for Endpoint: not an MDI alert.
      { ...makeMdiSecurityAlert({ vendorOriginalId: 'mde-1', alertName: 'Decoy from MDE', timeGenerated: hoursAgo(1), accounts: [jdoeAccount] }), ProductName: 'Microsoft Defender Advanced Threat Protection', ProviderName: 'MDATP' },
      // Same person, older than the 30-day look-back.
      makeMdiSecurityAlert({ vendorOriginalId: 'old-1', alertName: 'Decoy too old', timeGenerated: hoursAgo(24 * 40), accounts: [jdoeAccount] }),
    ]);
    const { status, posts } = await lookup('jdoe');
    expect(status).toBe(200);
    const card = cardOf(posts[0]);
    expect(checkTeamsCard(card)).toEqual([]);
    const lines = alertLines(card);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^High · Suspected DCSync attack · new · from Sentinel · /);
    expect(JSON.stringify(card)).not.toContain('Decoy');
    expect(JSON.stringify(card)).not.toContain('did not answer');
    // One query, searching the person's SID, Entra object id, UPN and sam (each a quoted literal).
    expect(la.queries).toHaveLength(1);
    expect(la.queries[0]).toMatchObject({ workspaceId: WORKSPACE, status: 200, timespan: 'P30D' });
    expect(searchedTerms(la.queries[0]!.query)).toEqual([jdoe.sid.toUpperCase(), entraJdoe!.id, jdoe.userPrincipalName, 'jdoe']);
  });

  it('shows an alert the store and Sentinel both know once, with the store Ref; newest first, at most five', async (ctx) => {
    requireSamba(ctx);
    const stored: Alert = {
      key: 'shared-1',
      sourceId: 'graph-id-1',
      source: 'graph',
      title: 'Honeytoken activity',
      description: '',
      severity: 'medium',
      status: 'new',
      mitreTechniques: [],
      lastActivity: hoursAgo(1),
      accounts: [{ samAccountName: 'jdoe', domain: env.domain, sid: jdoe.sid, roles: ['attacked'] }],
      devices: [],
    };
    const { record } = await store.upsertAlert(stored, 'fp-shared-1');
    la.addAlerts([
      makeMdiSecurityAlert({ vendorOriginalId: 'shared-1', alertName: 'Honeytoken activity', severity: 'Medium', timeGenerated: hoursAgo(0.9), endTime: hoursAgo(1), accounts: [jdoeAccount] }),
      ...[1, 2, 3, 4, 5, 6].map((n) =>
        makeMdiSecurityAlert({ vendorOriginalId: `bulk-${n}`, alertName: `Bulk alert ${n}`, severity: 'Low', timeGenerated: hoursAgo(10 - n), accounts: [jdoeAccount] }),
      ),
    ]);
    const { posts } = await lookup(`${env.domain}\\jdoe`);
    const lines = alertLines(cardOf(posts[0]));
    expect(lines).toHaveLength(5);
    expect(lines.filter((line) => line.includes('Honeytoken activity'))).toEqual([expect.stringContaining(`Ref ${record.code}`)]);
    // Newest activity first: the shared alert (1 h ago), then bulk 6, 5, 4, 3 (4..7 h ago); 2 and 1 fall off.
    expect(lines.map((line) => line.split(' · ')[1])).toEqual(['Honeytoken activity', 'Bulk alert 6', 'Bulk alert 5', 'Bulk alert 4', 'Bulk alert 3']);
  });

  it('answers without Sentinel when it fails, naming it in a sentence', async (ctx) => {
    requireSamba(ctx);
    const stored: Alert = {
      key: 'stored-only-1',
      sourceId: 'graph-id-2',
      source: 'graph',
      title: 'Suspected overpass-the-hash attack',
      description: '',
      severity: 'high',
      status: 'inProgress',
      mitreTechniques: [],
      lastActivity: hoursAgo(0.5),
      accounts: [{ samAccountName: 'jdoe', domain: env.domain, sid: jdoe.sid, roles: ['compromised'] }],
      devices: [],
    };
    await store.upsertAlert(stored, 'fp-stored-only-1');
    la.addAlerts([makeMdiSecurityAlert({ vendorOriginalId: 'unseen-1', alertName: 'Never shown', timeGenerated: hoursAgo(1), accounts: [jdoeAccount] })]);
    la.injectFault({ kind: 'status', status: 503 });
    const { posts } = await lookup('jdoe');
    const card = cardOf(posts[0]);
    const json = JSON.stringify(card);
    expect(json).toContain('John Doe');
    expect(json).toContain('Sentinel did not answer: Log Analytics failed (HTTP 503) on the Sentinel lookup query');
    expect(json).not.toContain('Never shown');
    expect(json).not.toMatch(/\bat \w+ \(|RestError/);
    // The store's alerts are still there.
    expect(alertLines(card).some((line) => line.includes('Suspected overpass-the-hash attack'))).toBe(true);
  });

  it('does not wait for a Sentinel that hangs: the card goes out with the others and says so', async (ctx) => {
    requireSamba(ctx);
    const hang = gate();
    onTestFinished(() => hang.open());
    la.injectFault({ kind: 'hang', until: hang.opened });
    const asked = la.requests.length;
    const { status, posts } = await lookup('jdoe');
    expect(status).toBe(200);
    // Sentinel was asked and is still holding the request.
    expect(la.requests.length).toBe(asked + 1);
    expect(hang.isOpen).toBe(false);
    const json = JSON.stringify(cardOf(posts[0]));
    expect(json).toContain('Sentinel did not answer in time.');
    expect(json).toContain('John Doe');
  });

  it.for(['jdoe" or 1==1', '*', '"', "x' or '1'=='1", 'jdoe" | take 1000 //'])('never sends hostile input %j to Log Analytics', async (input, ctx) => {
    requireSamba(ctx);
    const { posts } = await lookup(input);
    expect(posts).toHaveLength(1);
    expect(String(posts[0]!.activity?.text ?? '')).toMatch(/^No user matches “/);
    // Nobody matched, so nothing about this text reached KQL at all.
    expect(la.queries).toEqual([]);
  });

  it('quotes a UPN holding an apostrophe as one string literal and finds the alert', async (ctx) => {
    requireSamba(ctx);
    la.addAlerts([
      makeMdiSecurityAlert({
        vendorOriginalId: 'ohara-1',
        alertName: 'Suspicious VPN connection',
        timeGenerated: hoursAgo(3),
        accounts: [{ name: "o'hara", upnSuffix: tenant.domain, aadUserId: ohara.id, displayName: "Maeve O'Hara" }],
      }),
    ]);
    const { posts } = await lookup(ohara.userPrincipalName);
    const lines = alertLines(cardOf(posts[0]));
    expect(lines).toEqual([expect.stringMatching(/^High · Suspicious VPN connection · new · from Sentinel · /)]);
    expect(la.queries).toHaveLength(1);
    // Read back by Kusto's own literal rules, each term is exactly the identifier.
    expect(searchedTerms(la.queries[0]!.query)).toEqual([ohara.id, ohara.userPrincipalName]);
  });

  it('leaves out identifiers that do not look right (a double quote in sam and UPN), keeping the SID', async (ctx) => {
    requireSamba(ctx);
    const { posts } = await lookup(quoted.userPrincipalName);
    expect(JSON.stringify(cardOf(posts[0]))).toContain('Quinn Quote');
    expect(la.queries).toHaveLength(1);
    expect(searchedTerms(la.queries[0]!.query)).toEqual([quoted.onPremisesSecurityIdentifier!.toUpperCase(), quoted.id]);
    expect(la.queries[0]!.query).not.toContain('uote');
  });
});

describe('Sentinel person search (adapter against the local Log Analytics)', () => {
  it('sends no query for a person without one usable identifier', async () => {
    const result = await sentinel.recentAlertsFor(
      { samAccountName: 'jdoe" or 1==1', userPrincipalName: 'x"|take 1000//@corp.example', sid: '*', entraObjectId: "') or true" },
      { days: 30, limit: 5 },
    );
    expect(result).toEqual({ alerts: [] });
    expect(la.queries).toEqual([]);
  });

  it('keeps only alerts whose accounts are the person (SID, Entra id, UPN or DOMAIN\\sam), newest version once', async () => {
    const alice = { name: 'alice', ntDomain: 'CONTOSO', upnSuffix: 'contoso.com', sid: 'S-1-5-21-1-2-3-1104' };
    la.addAlerts([
      makeMdiSecurityAlert({ systemAlertId: 'sys-1', vendorOriginalId: 'a1', status: 'New', timeGenerated: hoursAgo(3), accounts: [alice] }),
      makeMdiSecurityAlert({ systemAlertId: 'sys-1', vendorOriginalId: 'a1', status: 'Resolved', timeGenerated: hoursAgo(2), accounts: [alice] }),
      // Another domain's alice: same sam, other SID and UPN.
      makeMdiSecurityAlert({ vendorOriginalId: 'a2', timeGenerated: hoursAgo(1), accounts: [{ name: 'alice', ntDomain: 'FABRIKAM', upnSuffix: 'fabrikam.com', sid: 'S-1-5-21-9-9-9-1104' }] }),
      // Known by sam and domain only.
      makeMdiSecurityAlert({ vendorOriginalId: 'a3', timeGenerated: hoursAgo(4), accounts: [{ name: 'ALICE', ntDomain: 'contoso' }] }),
    ]);
    const result = await sentinel.recentAlertsFor({ samAccountName: 'alice', domain: 'CONTOSO', userPrincipalName: 'alice@contoso.com', sid: alice.sid }, { days: 30, limit: 5 });
    expect(result.alerts.map((alert) => [alert.key, alert.status])).toEqual([
      ['a1', 'resolved'],
      ['a3', 'new'],
    ]);
    expect(result.partial).toBeUndefined();
  });

  it('uses a partial answer and says so; maps a refusal to a sentence', async () => {
    la.addAlerts([makeMdiSecurityAlert({ vendorOriginalId: 'p1', timeGenerated: hoursAgo(1) })]);
    la.injectFault({ kind: 'partial' });
    const partial = await sentinel.recentAlertsFor({ sid: 'S-1-5-21-1111111111-2222222222-3333333333-1104' }, { days: 7, limit: 5 });
    expect(partial.alerts.map((alert) => alert.key)).toEqual(['p1']);
    expect(partial.partial).toBe('Sentinel answered with part of the result only.');
    la.injectFault({ kind: 'status', status: 403 });
    await expect(sentinel.recentAlertsFor({ sid: 'S-1-5-21-1111111111-2222222222-3333333333-1104' }, { days: 7, limit: 5 })).rejects.toMatchObject({
      code: 'UPSTREAM_FORBIDDEN',
      message: expect.stringMatching(/^Log Analytics refused the app: give it the Log Analytics Reader/),
    });
  });
});
