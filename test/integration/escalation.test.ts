import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import type { AuditRecord } from '../../src/domain/ports/audit-log.ts';
import { recordingOwnershipListener } from '../../src/domain/ports/alert-ownership.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { ALICE_USER, BOB_USER, type TeamsUser } from '../../sim/teams/bot-activity.ts';
import { startPagerDutyServer, type PagerDutyServer } from '../../sim/pagerduty/pagerduty-server.ts';
import { startOpsgenieServer, type OpsgenieServer } from '../../sim/opsgenie/opsgenie-server.ts';
import { cardButtons, cardText, type BotHarness, type CardRef, type TestBot } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { requireSamba } from '../support/samba.ts';
import { createTestDatabase, probePostgres } from '../support/postgres.ts';

/**
 * Issue 15, escalation, end to end: the real bot (startIncidentBot) with a Graph alert source,
 * the local connector (which records every activity the bot sends), and the PagerDuty Events API
 * v2 and Opsgenie stand-ins over HTTPS (which record what they accept and refuse what the real
 * ones refuse). Time is the bot's injected clock, moved by the test; `escalateNow` runs the sweep
 * the timer would run, so nothing sleeps for minutes.
 */

let h: BotHarness;
const { bots, bot } = useBotE2e((harness) => (h = harness));
let pagerDuty: PagerDutyServer;
let opsgenie: OpsgenieServer;
const routingKey = randomBytes(16).toString('hex');
const genieKey = randomBytes(18).toString('base64url');
/** A reader the policy @mentions (the on-call person), and a Teams tag. */
const DANA_ONCALL: TeamsUser = { id: '29:1dana-oncall-teams-id', name: 'Dana Oncall', aadObjectId: '4d4d4d4d-0000-4222-8333-444455556666' };
const TAG = { id: 'MzE1ZjM4NjAtNmZlNi00Yz-oncall', name: 'SOC on-call' };

beforeAll(async () => {
  pagerDuty = await startPagerDutyServer({ routingKeys: [routingKey] });
  opsgenie = await startOpsgenieServer({ apiKey: genieKey });
});
afterAll(async () => {
  await pagerDuty?.close();
  await opsgenie?.close();
});

const MINUTE = 60_000;
const settle = () => new Promise((r) => setTimeout(r, 300));

function policy(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ high: { remindAfterMinutes: 10, pageAfterMinutes: 30 }, mention: [{ user: DANA_ONCALL.aadObjectId, name: DANA_ONCALL.name }, { tag: TAG.id, name: TAG.name }], ...extra });
}

function env(databaseUrl: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    ESCALATION_POLICY: policy(),
    ESCALATION_SWEEP_SECONDS: '3600',
    PAGERDUTY_ROUTING_KEY: routingKey,
    PAGERDUTY_EVENTS_URL: pagerDuty.url,
    OPSGENIE_API_KEY: genieKey,
    OPSGENIE_API_URL: opsgenie.url,
    READER_USER_IDS: DANA_ONCALL.aadObjectId,
  };
}

/** The bot's clock: real time plus what the test has moved it on. */
function testClock() {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms: number) => (offset += ms) };
}

/** Reminders the bot sent into the alert's thread (activities, with their entities). */
function reminders(card: CardRef): Record<string, unknown>[] {
  return h.connector
    .repliesIn(card.rootActivityId)
    .map((r) => r.activity ?? {})
    .filter((a) => String(a.text ?? '').includes('has had no owner and no decision'));
}

function eventsFor(key: string) {
  return pagerDuty.events.filter((e) => e.dedupKey === key);
}

async function auditOf(databaseUrl: string): Promise<AuditRecord[]> {
  const store = await openStore({ databaseUrl, logger: captureLogger('warn').logger });
  try {
    return (await store.listAudit({ limit: 500 })).reverse();
  } finally {
    await store.close();
  }
}

/** The card at the connector, and the bot's store saying so (the escalation counts from there). */
async function postedCard(b: TestBot, text: string): Promise<CardRef> {
  const card = await h.waitForCard(b, text);
  await h.waitFor('the card recorded as posted', () => b.output().includes(card.activityId) && b.output().includes('"alert card posted"'));
  return card;
}

async function stopBot(b: TestBot): Promise<void> {
  bots.splice(bots.indexOf(b), 1);
  await b.stop();
}

describe('escalation of an unowned high alert', () => {
  it('is reminded in its thread with real @mentions after the configured time, paged once (dedup key = alert, across a restart), and taking it stops escalation and resolves the page', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('escal');
    const alertKey = h.alert([p.entra]);
    const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'escalation-')), 'bot.db')}`;
    const clock = testClock();
    const listener = recordingOwnershipListener();
    let b = await bot(env(databaseUrl), { now: clock.now, ownershipListener: listener });
    const card = await postedCard(b, p.sam);
    expect(cardButtons(card.record.activity?.attachments).some((x) => x.verb === 'take' && x.title === 'Take it')).toBe(true);

    // Before the configured time: scheduled, nothing said, nothing paged.
    await b.escalateNow();
    clock.advance(9 * MINUTE);
    await b.escalateNow();
    expect(reminders(card)).toEqual([]);
    expect(eventsFor(alertKey)).toEqual([]);

    // After 10 minutes without an owner: one reminder in the thread, @mentioning the on-call person and the tag.
    clock.advance(2 * MINUTE);
    await b.escalateNow();
    await b.escalateNow();
    const [reminder, ...more] = reminders(card);
    expect(more).toEqual([]);
    expect(reminder?.text).toMatch(/^<at>Dana Oncall<\/at> <at>SOC on-call<\/at> .*has had no owner and no decision for 11 minutes/);
    expect(reminder?.entities).toEqual(
      expect.arrayContaining([
        { type: 'mention', text: '<at>Dana Oncall</at>', mentioned: { id: DANA_ONCALL.aadObjectId, name: 'Dana Oncall' } },
        { type: 'mention', text: '<at>SOC on-call</at>', mentioned: { id: TAG.id, name: TAG.name, type: 'tag' } },
      ]),
    );
    await h.waitFor('the card to say the on-call was reminded', () => cardText(h.currentCard(card)).includes('On-call reminded at'));
    expect(eventsFor(alertKey)).toEqual([]);

    // After 30 minutes: paged once through each tool, with the alert key as dedup key / alias.
    clock.advance(20 * MINUTE);
    await b.escalateNow();
    await b.escalateNow();
    expect(eventsFor(alertKey).map((e) => [e.action, e.severity])).toEqual([['trigger', 'critical']]);
    expect(pagerDuty.alerts.get(alertKey)?.status).toBe('triggered');
    expect(opsgenie.accepted.filter((r) => r.alias === alertKey).map((r) => r.kind)).toEqual(['create']);
    await h.waitFor('the card to say the on-call was paged', () => /Paged on-call at \d\d:\d\d UTC/.test(cardText(h.currentCard(card))));

    // A restart on the same store (a second instance alike): neither reminded nor paged again.
    await stopBot(b);
    b = await bot(env(databaseUrl), { now: clock.now, ownershipListener: listener });
    clock.advance(30 * MINUTE);
    await b.escalateNow();
    expect(reminders(card)).toHaveLength(1);
    expect(eventsFor(alertKey)).toHaveLength(1);

    // Alice takes it: owner on the card, the listener told, the page resolved at both tools.
    const taken = await h.click(b, card, undefined as unknown as string, ALICE_USER, { verb: 'take' });
    expect(taken.status).toBe(200);
    expect(cardText(taken.card)).toMatch(/Owner: Alice Example since \d\d:\d\d UTC/);
    expect(cardButtons(taken.card).some((x) => x.verb === 'take')).toBe(false);
    await h.waitFor('the PagerDuty resolve', () => eventsFor(alertKey).some((e) => e.action === 'resolve'));
    expect(pagerDuty.alerts.get(alertKey)?.status).toBe('resolved');
    await h.waitFor('the Opsgenie close', () => opsgenie.alerts.get(alertKey)?.status === 'closed');
    expect(listener.changes.map((c) => [c.alertKey, c.owner.id, c.owner.name, c.by.name, c.previous])).toEqual([[alertKey, ALICE_USER.aadObjectId, 'Alice Example', 'Alice Example', undefined]]);
    await h.waitFor('the resolved page on the card', () => cardText(h.currentCard(card)).includes('(resolved)'));
    await h.waitFor('the take in the thread', () => h.threadTexts(card).includes('Alice Example took this alert.'));

    // Nothing more, however long it stays open.
    clock.advance(240 * MINUTE);
    await b.escalateNow();
    await settle();
    expect(eventsFor(alertKey).map((e) => e.action)).toEqual(['trigger', 'resolve']);
    expect(opsgenie.accepted.filter((r) => r.alias === alertKey).map((r) => r.kind)).toEqual(['create', 'close']);
    expect(reminders(card)).toHaveLength(1);

    await stopBot(b);
    const audit = (await auditOf(databaseUrl)).filter((e) => e.alertKey === alertKey).map((e) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['alert.escalation.reminded', 'alert.escalation.paged', 'alert.taken', 'alert.escalation.stopped', 'alert.escalation.page-resolved']));
    expect(audit.filter((a) => a === 'alert.escalation.paged')).toHaveLength(1);
    // No routing key or API key in any log line (the hooks check the harness' own secrets).
    expect(h.connector.sent.map((r) => JSON.stringify(r.activity ?? {})).join('\n')).not.toContain(routingKey);
  });

  it('two instances on one PostgreSQL store sweeping at the same moments: one reminder, one page, one resolve', async (ctx) => {
    requireSamba(ctx);
    if (!(await probePostgres()).available) ctx.skip();
    const database = await createTestDatabase();
    try {
      const p = await h.person('escpg');
      const alertKey = h.alert([p.entra]);
      const clock = testClock();
      const channel = `19:e2e-escpg-${randomBytes(3).toString('hex')}@thread.tacv2`;
      const [one, two] = await Promise.all([bot({ ...env(database.url), TEAMS_CHANNEL_ID: channel }, { now: clock.now }), bot({ ...env(database.url), TEAMS_CHANNEL_ID: channel }, { now: clock.now })]);
      const card = await h.waitForCard(one, p.sam);
      await h.waitFor('the card recorded as posted', () => (one.output() + two.output()).includes('"alert card posted"'));
      await Promise.all([one.escalateNow(), two.escalateNow()]);
      clock.advance(11 * MINUTE);
      await Promise.all([one.escalateNow(), two.escalateNow(), one.escalateNow()]);
      clock.advance(20 * MINUTE);
      await Promise.all([two.escalateNow(), one.escalateNow(), two.escalateNow()]);
      expect(reminders(card)).toHaveLength(1);
      expect(eventsFor(alertKey).map((e) => e.action)).toEqual(['trigger']);
      expect(await h.click(two, card, undefined as unknown as string, BOB_USER, { verb: 'take' })).toMatchObject({ status: 200 });
      await h.waitFor('the resolve', () => eventsFor(alertKey).some((e) => e.action === 'resolve'));
      clock.advance(60 * MINUTE);
      await Promise.all([one.escalateNow(), two.escalateNow()]);
      await settle();
      expect(eventsFor(alertKey).map((e) => e.action)).toEqual(['trigger', 'resolve']);
      expect(opsgenie.accepted.filter((r) => r.alias === alertKey).map((r) => r.kind)).toEqual(['create', 'close']);
    } finally {
      for (const b of [...bots]) await stopBot(b);
      await database.drop();
    }
  });

  it('a decision stops the escalation before the reminder: nothing is said or paged', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('escdeny');
    const alertKey = h.alert([p.entra]);
    const clock = testClock();
    const b = await bot(env(`sqlite:${join(mkdtempSync(join(tmpdir(), 'escalation-')), 'bot.db')}`), { now: clock.now });
    const card = await postedCard(b, p.sam);
    await b.escalateNow();
    const denied = await h.click(b, card, undefined as unknown as string, BOB_USER, { verb: 'deny' });
    expect(denied.status).toBe(200);
    clock.advance(60 * MINUTE);
    await b.escalateNow();
    await settle();
    expect(reminders(card)).toEqual([]);
    expect(eventsFor(alertKey)).toEqual([]);
  });

  it('approvers are reminded once in the thread before a pending approval expires', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('escexpiry');
    h.alert([p.entra]);
    const clock = testClock();
    const b = await bot({ ...env(`sqlite:${join(mkdtempSync(join(tmpdir(), 'escalation-')), 'bot.db')}`), ESCALATION_POLICY: policy({ remindBeforeExpiryMinutes: 30 }), APPROVAL_TTL_MINUTES: '60' }, { now: clock.now });
    const card = await postedCard(b, p.sam);
    const voted = await h.click(b, card, 'reset-password', BOB_USER);
    expect(cardText(voted.card)).toContain('1 of 2');
    const expiring = () => h.connector.repliesIn(card.rootActivityId).map((r) => r.activity ?? {}).filter((a) => String(a.text ?? '').includes('expires in'));
    clock.advance(20 * MINUTE);
    await b.escalateNow();
    expect(expiring()).toEqual([]);
    clock.advance(11 * MINUTE);
    await b.escalateNow();
    await b.escalateNow();
    expect(expiring()).toHaveLength(1);
    expect(expiring()[0]!.text).toMatch(/^<at>Dana Oncall<\/at> <at>SOC on-call<\/at> Approvers: Reset AD password \(code [A-Z0-9-]+\) on .* expires in 29 minutes without enough approvals\.$/);
    expect(expiring()[0]!.entities).toHaveLength(2);
  });

  it('a pager that fails is retried later, and still pages once', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('escretry');
    const alertKey = h.alert([p.entra]);
    const clock = testClock();
    const e = { ...env(`sqlite:${join(mkdtempSync(join(tmpdir(), 'escalation-')), 'bot.db')}`) };
    delete (e as Record<string, string | undefined>).OPSGENIE_API_KEY;
    const b = await bot(e, { now: clock.now });
    await postedCard(b, p.sam);
    await b.escalateNow();
    clock.advance(31 * MINUTE);
    pagerDuty.failNext.push(503);
    await b.escalateNow();
    expect(eventsFor(alertKey)).toEqual([]);
    // Retried only once the back-off has passed.
    await b.escalateNow();
    expect(eventsFor(alertKey)).toEqual([]);
    clock.advance(MINUTE);
    await b.escalateNow();
    await b.escalateNow();
    expect(eventsFor(alertKey).map((x) => x.action)).toEqual(['trigger']);
  });
});
