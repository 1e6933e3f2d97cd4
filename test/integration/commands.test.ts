import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { createGraphClient } from '../../src/adapters/graph/graph-client.ts';
import { createGraphUserLookup } from '../../src/adapters/graph/graph-user-lookup.ts';
import { createOktaClient } from '../../src/adapters/okta/okta-client.ts';
import { createUserListApproverCheck } from '../../src/approvals/approver-check.ts';
import { createCommandHandler, type CommandDeps } from '../../src/commands/command-handler.ts';
import { createOktaUserLookup } from '../../src/adapters/okta/okta-user-lookup.ts';
import type { StatusProbe } from '../../src/domain/ports/status-probe.ts';
import type { Alert } from '../../src/domain/alert.ts';
import type { DirectoryUser } from '../../src/domain/ports/directory.ts';
import { Secret } from '../../src/observability/logger.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { ALICE_USER, BOB_USER, channelMention, personalMessage, targetedSlashCommand, type InboundActivity, type TeamsContext } from '../../sim/teams/bot-activity.ts';
import { startBotConnectorServer, type BotConnectorServer, type SentRecord } from '../../sim/teams/bot-connector-server.ts';
import type { EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import type { Fault } from '../../sim/graph/faults.ts';
import { startTokensAndGraph, type GraphServer } from '../../sim/graph/graph-server.ts';
import { startOktaServer, type OktaServer } from '../../sim/okta/okta-server.ts';
import { addOktaUser, addUser, createTenant, type Tenant } from '../../sim/tenant.ts';
import { checkTeamsCard } from '../support/card-rules.ts';
import { gate } from '../support/gate.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { startCommandBot, type CommandBot } from '../support/command-bot.ts';
import { requireSamba, sambaEnv, type SambaEnv } from '../support/samba.ts';
import { sambaDirectory } from '../support/samba-directory.ts';

/**
 * Every command through the real bot endpoint (/api/messages → CloudAdapter → turn logic →
 * command handler), against the Samba AD DC, the local Graph and Okta stand-ins (real SDKs over
 * TLS), a real SQLite store, and the local Bot Framework connector that records what was posted.
 */
const log = captureLogger();
let env: SambaEnv;
let tokens: EntraTokenServer;
let graph: GraphServer;
let okta: OktaServer;
let connector: BotConnectorServer;
let store: Store;
let bot: CommandBot;
let tenant: Tenant;
let teams: TeamsContext;
let jdoe: DirectoryUser;
const statusProbe: StatusProbe = {
  async alertSources() {
    return [{ name: 'graph', health: 'ok', lastPollAt: new Date('2026-11-20T09:02:00Z') }];
  },
};

beforeAll(async () => {
  const found = sambaEnv();
  // Without Samba every test below skips itself (requireSamba), with how to get it.
  if (!found) return;
  env = found;
  const directory = sambaDirectory(env, log.logger);
  [jdoe] = await directory.findUsers('jdoe', 1) as [DirectoryUser];
  // The Entra tenant synced from this AD: same domain SID, so SIDs line up as in a real sync.
  const domainSid = jdoe.sid.split('-').slice(0, -1).join('-');
  tenant = createTenant({ domain: env.realm.toLowerCase(), netbiosDomain: env.domain, domainSid });
  const rid = Number(jdoe.sid.split('-').at(-1));
  const entraJdoe = addUser(tenant, { name: 'jdoe', displayName: 'John Doe', rid, riskLevel: 'high', riskState: 'atRisk' });
  entraJdoe.riskLastUpdatedDateTime = '2026-11-20T08:00:00Z';
  addOktaUser(tenant, { login: jdoe.userPrincipalName ?? entraJdoe.userPrincipalName, firstName: 'John', lastName: 'Doe' });
  addUser(tenant, { name: 'carol.cloud', displayName: 'Carol Cloud', synced: false });

  const clientId = 'c0ffee00-0000-4000-8000-000000000001';
  const secret = 'local-test-secret';
  ({ tokens, graph } = await startTokensAndGraph(tenant, [{ clientId, clientSecret: secret }]));
  okta = await startOktaServer({ apiToken: 'okta-test-token', tenant });
  connector = await startBotConnectorServer({ protocol: 'http' });
  store = await openStore({ databaseUrl: 'sqlite::memory:', logger: log.logger });

  const credential = new ClientSecretCredential(tenant.tenantId, clientId, secret, { authorityHost: tokens.url, disableInstanceDiscovery: true });
  const graphClient = createGraphClient({ credential, endpoint: graph.url, timeoutMs: 1_500, logger: log.logger, maxRetries: 0 });
  const oktaClient = createOktaClient({ orgUrl: okta.url, apiToken: new Secret('okta-test-token'), timeoutMs: 1_500, logger: log.logger, maxRetries: 0 });
  const deps: CommandDeps = {
    store,
    directory,
    entra: createGraphUserLookup({ client: graphClient }),
    okta: createOktaUserLookup(oktaClient, { timeoutMs: 1_500 }),
    // Alice approves (and so may read); Bob does not (subscribe/unsubscribe are approvers' decisions).
    // Typed approve/deny/resume run through the real bot in test/integration/commands-approvals.test.ts.
    approvers: createUserListApproverCheck([ALICE_USER.aadObjectId]),
    // This file runs more lookups than a person may per minute (the limit: test/integration/commands-readers.test.ts).
    lookupRatePerMinute: 10_000,
    status: statusProbe,
    capabilities: { activeDirectory: true, entra: true, okta: true },
    netbiosDomain: env.domain,
    minSeverity: 'low',
    logger: log.logger,
    sourceTimeoutMs: 1_500,
  };
  bot = await startCommandBot({ onCommand: createCommandHandler(deps), connector, logger: log.logger });
  teams = { serviceUrl: connector.serviceUrl, botAppId: '00000000-0000-0000-0000-00000000b07a' };
});

afterAll(async () => {
  await Promise.all([bot?.close(), tokens?.close(), graph?.close(), okta?.close(), connector?.close()]);
  await store?.close();
});

beforeEach(() => {
  connector?.reset();
});

/**
 * POSTs one activity to /api/messages; resolves with what the bot posted back. (How fast it
 * answers is measured by the benchmark, `npm run bench` → bench/lookup.ts, not here.)
 */
const send = (activity: InboundActivity) => bot.send(activity);

function cardOf(record: SentRecord | undefined): Record<string, unknown> {
  const attachment = (record?.activity?.attachments as { contentType: string; content: Record<string, unknown> }[] | undefined)?.[0];
  expect(attachment?.contentType).toBe('application/vnd.microsoft.card.adaptive');
  return attachment!.content;
}

function textOf(record: SentRecord | undefined): string {
  return String(record?.activity?.text ?? '');
}

function personal(text: string): InboundActivity {
  return personalMessage(teams, { text });
}

describe('lookup through /api/messages', () => {
  it('answers lookup jdoe in a personal chat with one card: AD, Entra, Okta, alerts, audit and buttons', async (ctx) => {
    requireSamba(ctx);
    const alert: Alert = {
      key: 'mdi-jdoe-1',
      sourceId: 'da-1',
      source: 'graph',
      title: 'Suspected brute-force attack (LDAP)',
      description: 'Many failed logons.',
      severity: 'high',
      status: 'new',
      mitreTechniques: ['T1110'],
      lastActivity: '2026-11-20T09:00:00Z',
      accounts: [{ samAccountName: 'jdoe', domain: env.domain, sid: jdoe.sid, roles: ['attacked'] }],
      devices: [],
    };
    const { record } = await store.upsertAlert(alert, 'fp-1');
    await store.appendAudit({ at: new Date('2026-11-20T09:05:00Z'), actor: 'someone', action: 'action.executed', accountKey: `sid:${jdoe.sid}`, outcome: 'success', details: { action: 'revoke-sessions' } });

    const { status, posts } = await send(personal('lookup jdoe'));
    expect(status).toBe(200);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.targeted).toBe(false);
    const card = cardOf(posts[0]);
    expect(checkTeamsCard(card)).toEqual([]);
    const json = JSON.stringify(card);
    expect(json).toContain('John Doe');
    expect(json).toContain(`"text":"${env.domain}\\\\jdoe · ${jdoe.userPrincipalName}"`); // CORP\jdoe, JSON-escaped
    expect(json).toContain('Active Directory');
    expect(json).toContain('Synced from AD');
    expect(json).toContain('high (atRisk)');
    expect(json).toContain('"title":"Status","value":"ACTIVE"');
    expect(json).toContain('Suspected brute-force attack (LDAP)');
    expect(json).toContain(record.code);
    expect(json).toContain('Revoke sessions · success');
    const executes = findAll(card, (node) => node.type === 'Action.Execute');
    expect(executes.map((action) => (action.data as { action: string }).action)).toEqual(['disable-ad-account', 'reset-password', 'revoke-sessions', 'mark-compromised', 'suspend-okta']);
    for (const action of executes) {
      expect(action.verb).toBe('approve');
      expect(action.data).toEqual({ action: (action.data as { action: string }).action, target: `sid:${jdoe.sid.toLowerCase()}` });
    }
  });

  it('works as @mention in a channel (answer in the thread, visible) and as a targeted /lookup (private)', async (ctx) => {
    requireSamba(ctx);
    const mention = await send(channelMention(teams, { command: `whois ${env.domain}\\jdoe` }));
    expect(mention.posts).toHaveLength(1);
    expect(mention.posts[0]!.targeted).toBe(false);
    expect(JSON.stringify(cardOf(mention.posts[0]))).toContain('John Doe');

    connector.reset();
    const slash = await send(targetedSlashCommand(teams, { text: '/lookup jdoe' }));
    expect(slash.posts).toHaveLength(1);
    expect(slash.posts[0]!.targeted).toBe(true);
    expect(slash.posts[0]!.activity?.recipient).toMatchObject({ id: ALICE_USER.id });
    expect(JSON.stringify(cardOf(slash.posts[0]))).toContain('John Doe');
  });

  it('falls back to a normal reply when the connector refuses the targeted reply', async (ctx) => {
    requireSamba(ctx);
    connector.faults.push({ status: 400, times: 1, targeted: true });
    const { posts } = await send(targetedSlashCommand(teams, { text: '/help' }));
    expect(connector.rejected).toHaveLength(1);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.targeted).toBe(false);
    expect(textOf(posts[0])).toContain('lookup');
  });

  it('gives a pick list for an ambiguous name, with buttons that send the exact lookup back', async (ctx) => {
    requireSamba(ctx);
    const { posts } = await send(personal('lookup John Doe'));
    const card = cardOf(posts[0]);
    expect(checkTeamsCard(card)).toEqual([]);
    const commands = findAll(card, (node) => node.type === 'Action.Submit').map((action) => (action.data as { msteams: { text: string } }).msteams.text);
    expect(commands).toEqual(expect.arrayContaining([`lookup ${env.domain}\\jdoe`, `lookup ${env.domain}\\jdoering`]));
    // The button's text is a command the bot answers with the one card.
    connector.reset();
    const again = await send(personal(`lookup ${env.domain}\\jdoering`));
    expect(JSON.stringify(cardOf(again.posts[0]))).toContain('John Doering');
  });

  it('finds unicode names and the account whose DN holds a comma', async (ctx) => {
    requireSamba(ctx);
    const zoe = await send(personal('lookup Zoë'));
    const zoeCard = cardOf(zoe.posts[0]);
    expect(JSON.stringify(zoeCard)).toContain('Zoë Müller');
    expect(checkTeamsCard(zoeCard)).toEqual([]);
    connector.reset();
    const jane = await send(personal('lookup jadoe'));
    const janeCard = JSON.stringify(cardOf(jane.posts[0]));
    expect(janeCard).toContain('"text":"Doe, Jane"');
    // No Entra/Okta twin for her: the card says so instead of failing.
    expect(janeCard).toContain('no synced account found');
  });

  it('flags a privileged account', async (ctx) => {
    requireSamba(ctx);
    const { posts } = await send(personal('lookup padmin'));
    const json = JSON.stringify(cardOf(posts[0]));
    expect(json).toContain('Privileged account');
    expect(json).toContain('Domain Admins');
  });

  it('finds a cloud-only Entra user that AD does not know', async (ctx) => {
    requireSamba(ctx);
    const { posts } = await send(personal(`lookup carol.cloud@${tenant.domain}`));
    const card = cardOf(posts[0]);
    const json = JSON.stringify(card);
    expect(json).toContain('Carol Cloud');
    expect(json).toContain('Cloud only');
    const actions = findAll(card, (node) => node.type === 'Action.Execute').map((action) => (action.data as { action: string }).action);
    expect(actions).toEqual(['revoke-sessions', 'mark-compromised', 'suspend-entra']);
  });

  it.for([
    ['*', 'No user matches “\\*”.'],
    ['*)(objectClass=*', 'No user matches “\\*)(objectClass=\\*”.'],
    ["o'brien", 'No user matches “o\'brien”.'],
    ['[x](https://evil.example)', 'No user matches “\\[x\\](https://evil.example)”.'],
  ] as const)('answers hostile input %j with an escaped "no user matches"', async ([input, expected], ctx) => {
    requireSamba(ctx);
    const { posts } = await send(personal(`lookup ${input}`));
    expect(posts).toHaveLength(1);
    expect(textOf(posts[0])).toBe(expected);
  });

  it('refuses very long input with a sentence and echoes at most a short, truncated part', async (ctx) => {
    requireSamba(ctx);
    const long = await send(personal(`lookup ${'A'.repeat(5_000)}`));
    expect(textOf(long.posts[0])).toBe('That is longer than 256 characters, too long to be a name.');
    connector.reset();
    const nearLimit = await send(personal(`lookup ${'Ab'.repeat(120)}`));
    const text = textOf(nearLimit.posts[0]);
    expect(text.startsWith('No user matches “Ab')).toBe(true);
    expect(text.length).toBeLessThan(100);
  });

  it('says which source did not answer and still answers from the others', async (ctx) => {
    requireSamba(ctx);
    graph.faults.push({ status: 503, times: Infinity, match: (req) => req.path.includes('/users') });
    try {
      const { posts } = await send(personal('lookup jdoe'));
      const json = JSON.stringify(cardOf(posts[0]));
      expect(json).toContain('Entra ID did not answer');
      expect(json).not.toContain('at ');
      expect(json).toContain('Active Directory');
    } finally {
      graph.faults.length = 0;
    }
  });

  it('does not wait for a source that hangs: answers from the others, with the typing indicator and a note naming it', async (ctx) => {
    requireSamba(ctx);
    // Okta takes the request and never answers until the test lets it (far beyond the 1.5 s budget).
    const hang = gate();
    onTestFinished(() => hang.open());
    const fault: Fault = { until: hang.opened, times: 1 };
    okta.faults.push(fault);
    const { status, posts } = await send(personal('lookup jdoe'));
    // The answer is here while Okta still holds the request: the lookup did not wait for it.
    expect(status).toBe(200);
    expect(fault.hits).toBe(1);
    expect(hang.isOpen).toBe(false);
    expect(posts).toHaveLength(1);
    const json = JSON.stringify(cardOf(posts[0]));
    expect(json).toContain('Okta did not answer in time.');
    expect(json).toContain('John Doe');
    expect(json).toContain('Synced from AD');
    expect(connector.sent.some((record) => record.activity?.type === 'typing')).toBe(true);
  });
});

describe('the other commands through /api/messages', () => {
  it('subscribe stores the channel reference and answers in the thread; unsubscribe removes it', async (ctx) => {
    requireSamba(ctx);
    const threadRoot = '1732000000001';
    const { posts } = await send(channelMention(teams, { command: 'subscribe', threadRootId: threadRoot }));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.conversationId).toBe(`19:incidents-0000@thread.tacv2;messageid=${threadRoot}`);
    expect(textOf(posts[0])).toContain('severity ≥ low will be posted in this channel');
    const subscriptions = await store.listSubscriptions();
    expect(subscriptions).toHaveLength(1);
    const reference = subscriptions[0]!.conversationReference as { conversation: { id: string }; serviceUrl: string };
    expect(reference.conversation.id).toBe('19:incidents-0000@thread.tacv2');
    expect(reference.serviceUrl).toBe(connector.serviceUrl);
    expect(subscriptions[0]!.createdBy).toBe(ALICE_USER.aadObjectId);

    connector.reset();
    const again = await send(channelMention(teams, { command: '/unsubscribe' }));
    expect(textOf(again.posts[0])).toContain('Unsubscribed');
    expect(await store.listSubscriptions()).toHaveLength(0);
    connector.reset();
    const twice = await send(channelMention(teams, { command: 'unsubscribe' }));
    expect(textOf(twice.posts[0])).toBe('This channel was not subscribed.');
  });

  it('only an approver may subscribe or unsubscribe a channel: anyone else gets one private line, audited, nothing changes', async (ctx) => {
    requireSamba(ctx);
    const bob = { user: BOB_USER };
    const refused = await send(channelMention(teams, { ...bob, command: 'subscribe' }));
    expect(refused.posts.map(textOf)).toEqual(['Only approvers can subscribe a channel; nothing was changed.']);
    expect(await store.listSubscriptions()).toHaveLength(0);

    await send(channelMention(teams, { command: 'subscribe' }));
    expect(await store.listSubscriptions()).toHaveLength(1);
    connector.reset();
    const notOff = await send(channelMention(teams, { ...bob, command: 'unsubscribe' }));
    expect(notOff.posts.map(textOf)).toEqual(['Only approvers can unsubscribe a channel; nothing was changed.']);
    expect(await store.listSubscriptions()).toHaveLength(1);
    const audit = await store.listAudit({ limit: 50 });
    expect(audit.filter((a) => a.action === 'subscription.unauthorized').map((a) => [a.actor, a.outcome, a.details?.attempted])).toEqual([
      [BOB_USER.aadObjectId, 'refused', 'unsubscribe'],
      [BOB_USER.aadObjectId, 'refused', 'subscribe'],
    ]);
    await send(channelMention(teams, { command: 'unsubscribe' }));
    expect(await store.listSubscriptions()).toHaveLength(0);
  });

  it('subscribe outside a channel explains where to do it and stores nothing', async (ctx) => {
    requireSamba(ctx);
    const { posts } = await send(personal('subscribe'));
    expect(textOf(posts[0])).toContain('Subscribe in the team channel');
    expect(await store.listSubscriptions()).toHaveLength(0);
  });

  it('alerts lists open alerts newest first; pending lists codes; history shows the audit', async (ctx) => {
    requireSamba(ctx);
    const base: Alert = { key: 'mdi-asmith-1', sourceId: 'x', source: 'graph', title: 'Honeytoken activity', description: '', severity: 'medium', status: 'new', mitreTechniques: [], accounts: [{ samAccountName: 'asmith', domain: env.domain, roles: ['compromised'] }], devices: [] };
    await store.upsertAlert(base, 'fp-a');
    await store.upsertAlert({ ...base, key: 'mdi-old-resolved', title: 'Resolved one', status: 'resolved' }, 'fp-b');
    await store.createApproval({ id: 'ap-1', action: 'disable-ad-account', target: { accountKey: 'sam:corp\\asmith', label: `${env.domain}\\asmith` }, code: 'K7M2QX', requiredApprovals: 1, requestedBy: 'bob', expiresAt: new Date(Date.now() + 3_600_000) });
    await store.appendAudit({ at: new Date(), actor: 'bob', action: 'approval.requested', accountKey: 'sam:corp\\asmith', outcome: 'info', details: { action: 'disable-ad-account' } });

    const alerts = await send(personal('alerts'));
    const alertText = textOf(alerts.posts[0]);
    expect(alertText).toContain('Honeytoken activity');
    expect(alertText).not.toContain('Resolved one');
    expect(alertText.indexOf('Honeytoken activity')).toBeLessThan(alertText.indexOf('Suspected brute-force'));

    connector.reset();
    const pending = await send(personal('pending'));
    expect(textOf(pending.posts[0])).toContain('**K7M2QX** Disable AD account');

    connector.reset();
    const history = await send(personal('history asmith'));
    expect(textOf(history.posts[0])).toContain('approval.requested Disable AD account');
  });

  it('status reports store, directory and alert sources', async (ctx) => {
    requireSamba(ctx);
    const { posts } = await send(personal('status'));
    const text = textOf(posts[0]);
    expect(text).toContain('**Store**: reachable');
    expect(text).toContain('**Directory (LDAP)**: reachable');
    expect(text).toContain('**Alert source graph**: ok · last poll 20 Nov 2026, 09:02 UTC');
  });

  it('help, an empty mention and unknown input get help, not silence', async (ctx) => {
    requireSamba(ctx);
    const help = await send(personal('help'));
    expect(textOf(help.posts[0])).toContain('**lookup**');
    connector.reset();
    const empty = await send(channelMention(teams, { command: '' }));
    expect(textOf(empty.posts[0])).toContain('**subscribe**');
    connector.reset();
    const unknown = await send(personal('<b>frobnicate</b> now'));
    expect(textOf(unknown.posts[0])).toBe("I don't know “\\<b\\>frobnicate\\</b\\>”. Try `lookup <who>`, `alerts`, `pending`, `history <who>`, `subscribe`, `status` or `help`.");
  });

  it('never leaks a stack trace or secret into what it posts', () => {
    if (!sambaEnv()) return;
    const everything = JSON.stringify(connector.sent);
    expect(everything).not.toMatch(/\bat \w+ \(|node_modules|okta-test-token|local-test-secret/);
  });
});

function findAll(node: unknown, match: (node: Record<string, unknown>) => boolean, into: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(node)) for (const child of node) findAll(child, match, into);
  else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (match(record)) into.push(record);
    for (const [key, child] of Object.entries(record)) if (key !== 'fallback') findAll(child, match, into);
  }
  return into;
}
