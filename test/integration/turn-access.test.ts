import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Activity } from 'botbuilder';
import { accessRefusal, type TurnAccess } from '../../src/bot/turn-logic.ts';
import { loadConfig } from '../../src/config/config.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { ALICE_USER, adaptiveCardAction, channelMention, personalMessage, type TeamsContext } from '../../sim/teams/bot-activity.ts';
import { startBotConnectorServer, type BotConnectorServer } from '../../sim/teams/bot-connector-server.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { labJsonHeaders } from '../support/lab-secret.ts';
import { startTestBot } from '../support/test-bot.ts';

/**
 * Who acts is only as trustworthy as the channel that says so: the bot serves Teams (test
 * channels only with BOT_AUTH=off) and only its own tenant; refused approval attempts are audited.
 */
const OUR_TENANT = '11111111-2222-3333-4444-555555555555';
const OTHER_TENANT = '99999999-8888-4777-8666-555555555555';

const activity = (channelId: string, tenant?: string): Activity => ({ channelId, ...(tenant ? { channelData: { tenant: { id: tenant } } } : {}) }) as unknown as Activity;

describe('accessRefusal', () => {
  const on: TurnAccess = { botAuth: 'on', tenantId: OUR_TENANT };
  const off: TurnAccess = { botAuth: 'off', tenantId: OUR_TENANT };
  it.each([
    ['Teams, our tenant', activity('msteams', OUR_TENANT), on, undefined],
    ['Teams, our tenant in upper case', activity('msteams', OUR_TENANT.toUpperCase()), on, undefined],
    ['Teams, another tenant', activity('msteams', OTHER_TENANT), on, 'tenant'],
    ['Teams, no tenant', activity('msteams'), on, 'tenant'],
    ['Web Chat with authentication on (the client writes `from`)', activity('webchat', OUR_TENANT), on, 'channel'],
    ['Direct Line with authentication on', activity('directline'), on, 'channel'],
    ['Web Chat with BOT_AUTH=off', activity('webchat'), off, undefined],
    ['the Emulator with BOT_AUTH=off', activity('emulator'), off, undefined],
    ['Slack even with BOT_AUTH=off', activity('slack'), off, 'channel'],
    ['Teams, another tenant, BOT_AUTH=off', activity('msteams', OTHER_TENANT), off, 'tenant'],
    ['Teams, any tenant, BOT_AUTH=off and no tenant configured', activity('msteams', OTHER_TENANT), { botAuth: 'off' }, undefined],
    ['Teams, BOT_AUTH=on and no tenant configured', activity('msteams', OUR_TENANT), { botAuth: 'on' }, 'tenant'],
  ] as const)('%s', (_label, a, access, expected) => {
    expect(accessRefusal(a, access)).toBe(expected);
  });

  it('the tenant is TEAMS_TENANT_ID, else MicrosoftAppTenantId, else AZURE_TENANT_ID; BOT_AUTH=on without any is a configuration error', () => {
    // DRY_RUN: BOT_AUTH=off with the real Graph endpoint is the lab mode, allowed only in dry run (issue 11).
    const base = { BOT_AUTH: 'off', ALERT_SOURCES: 'none', DRY_RUN: 'true' };
    expect(loadConfig(base).teamsTenantId).toBeUndefined();
    expect(loadConfig({ ...base, AZURE_TENANT_ID: OTHER_TENANT, AZURE_CLIENT_ID: OTHER_TENANT, AZURE_CLIENT_SECRET: 'x' }).teamsTenantId).toBe(OTHER_TENANT);
    expect(loadConfig({ ...base, MicrosoftAppTenantId: OUR_TENANT, AZURE_TENANT_ID: OTHER_TENANT, AZURE_CLIENT_ID: OTHER_TENANT, AZURE_CLIENT_SECRET: 'x' }).teamsTenantId).toBe(OUR_TENANT);
    expect(loadConfig({ ...base, TEAMS_TENANT_ID: OTHER_TENANT, MicrosoftAppTenantId: OUR_TENANT }).teamsTenantId).toBe(OTHER_TENANT);
    expect(() => loadConfig({ ALERT_SOURCES: 'none', MicrosoftAppId: OUR_TENANT, MicrosoftAppPassword: 'x'.repeat(8), MicrosoftAppType: 'MultiTenant' })).toThrow(/TEAMS_TENANT_ID: required/);
  });
});

describe('the bot refuses turns from other tenants and channels (BOT_AUTH=off, TEAMS_TENANT_ID set)', () => {
  let connector: BotConnectorServer;
  let bot: Awaited<ReturnType<typeof startTestBot>>;
  let ours: TeamsContext;
  let theirs: TeamsContext;
  let store: Store;

  beforeAll(async () => {
    connector = await startBotConnectorServer();
    const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'turn-access-')), 'bot.db')}`;
    bot = await startTestBot({ BOT_AUTH: 'off', TEAMS_TENANT_ID: OUR_TENANT, APPROVER_USER_IDS: ALICE_USER.aadObjectId, DATABASE_URL: databaseUrl });
    store = await openStore({ databaseUrl, logger: captureLogger().logger });
    ours = { serviceUrl: connector.serviceUrl, botAppId: 'incident-bot-local', tenantId: OUR_TENANT };
    theirs = { ...ours, tenantId: OTHER_TENANT };
  });
  afterAll(async () => {
    await bot?.stop();
    await store?.close();
    await connector?.close();
  });
  beforeEach(() => connector.reset());

  async function post(body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: labJsonHeaders(), body: JSON.stringify(body) });
    const raw = await response.text();
    return { status: response.status, body: raw ? (JSON.parse(raw) as unknown) : undefined };
  }
  const texts = () => connector.sent.filter((r) => r.activity?.type === 'message').map((r) => String(r.activity?.text ?? ''));
  const refusals = async () => (await bot.log.lines()).filter((l) => l.msg === 'turn refused: not Teams, or not our tenant');

  it('answers its own tenant', async () => {
    await post(personalMessage(ours, { text: 'pending' }));
    expect(texts()).toEqual(['No approvals are waiting.']);
  });

  it('another tenant gets one polite line, nothing else; an approval attempt from there is audited', async () => {
    await post(channelMention(theirs, { command: 'pending' }));
    expect(texts()).toEqual([expect.stringContaining('only work in Microsoft Teams for the organisation')]);
    connector.reset();
    const click = await post(adaptiveCardAction(theirs, { verb: 'approve', data: { action: 'disable-ad-account', target: 'sam:corp\\jdoe', alertKey: 'a1' }, cardActivityId: '1732000000002' }));
    expect(click.body).toMatchObject({ statusCode: 200, value: expect.stringContaining('only work in Microsoft Teams for the organisation') });
    expect(texts()).toEqual([]);
    expect((await refusals()).map((l) => l.refused)).toEqual(['tenant', 'tenant']);
    // The click was an approval attempt (audited); `pending` was not.
    const audit = (await store.listAudit({ limit: 20 })).filter((a) => a.action === 'approval.unauthorized');
    expect(audit.map((a) => [a.actor, a.outcome, a.details?.attempted, a.details?.refusedBecause, a.details?.tenantId])).toEqual([[ALICE_USER.aadObjectId, 'refused', 'approve', 'tenant', OTHER_TENANT]]);
  });

  it('a turn from a channel other than Teams (here Slack) is refused, its approval attempt audited', async () => {
    const forged = { ...personalMessage(ours, { text: `approve ABC123` }), channelId: 'slack' };
    await post(forged);
    expect(texts()).toEqual([expect.stringContaining('only work in Microsoft Teams')]);
    const lines = await refusals();
    expect(lines.at(-1)).toMatchObject({ refused: 'channel', attempted: 'approve' });
    const audit = (await store.listAudit({ limit: 20 })).filter((a) => a.action === 'approval.unauthorized');
    expect(audit[0]).toMatchObject({ actor: ALICE_USER.aadObjectId, outcome: 'refused', details: { attempted: 'approve', refusedBecause: 'channel', channelId: 'slack' } });
  });
});
