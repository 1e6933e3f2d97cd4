import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import type { AuditRecord } from '../../src/domain/ports/audit-log.ts';
import { recordingOwnershipListener } from '../../src/domain/ports/alert-ownership.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { ALICE_USER, BOB_USER, adaptiveCardAction, channelMention, type TeamsUser } from '../../sim/teams/bot-activity.ts';
import { CAROL_USER, MALLORY_USER, cardButtons, cardText, type BotHarness, type CardRef, type TestBot } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 15, an owner for every alert, attacked end to end: the real bot through /api/messages
 * with Teams-shaped invokes and @mentions, the local connector (member lookups, targeted
 * messages, card updates recorded), a real store. Alice and Bob are approvers, Carol is the lead
 * (LEAD_USER_IDS), Dave a reader only, Mallory neither. Who acts is always the activity's sender.
 */

let h: BotHarness;
const { bots, bot } = useBotE2e((harness) => (h = harness));
const DAVE_USER: TeamsUser = { id: '29:1dave-reader-teams-id', name: 'Dave Reader', aadObjectId: '4d4d4d4d-1111-4222-8333-44445555aaaa' };
const settle = () => new Promise((r) => setTimeout(r, 300));

function sqliteUrl(): string {
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'owners-')), 'bot.db')}`;
}

async function ownerBot(databaseUrl = sqliteUrl()) {
  const listener = recordingOwnershipListener();
  const b = await bot({ DATABASE_URL: databaseUrl, LEAD_USER_IDS: CAROL_USER.aadObjectId!, READER_USER_IDS: DAVE_USER.aadObjectId! }, { ownershipListener: listener });
  return { b, listener, databaseUrl };
}

/** A member of the conversation, as the connector knows them (the bot asks it who an @mention is). */
function member(user: TeamsUser): void {
  if (!h.connector.members.some((m) => m.id === user.id)) h.connector.members.push({ id: user.id, name: user.name, aadObjectId: user.aadObjectId, tenantId: h.demo.tenant.tenantId, userRole: 'user' });
}

/** What everyone sees in the alert's thread (targeted messages are seen by their recipient alone). */
function publicThread(card: CardRef): string[] {
  return h.connector
    .repliesIn(card.rootActivityId)
    .filter((r) => !r.targeted)
    .map((r) => String(r.activity?.text ?? ''));
}

function takeButton(content: unknown) {
  return cardButtons(content).find((x) => x.verb === 'take');
}

async function takeClick(b: TestBot, card: CardRef, user: TeamsUser, data?: Record<string, unknown>) {
  return h.click(b, card, undefined as unknown as string, user, { verb: 'take', ...(data ? { data } : {}) });
}

/** Types `command` in the alert's thread as `user`, @mentioning `mentions`; waits for the bot's answer. */
async function type(b: TestBot, card: CardRef, user: TeamsUser, command: string, mentions: TeamsUser[] = []): Promise<void> {
  member(user);
  for (const m of mentions) member(m);
  const before = h.connector.sent.length;
  const answer = await h.post(b, channelMention(b.ctx, { user, command, threadRootId: card.rootActivityId, mentions }));
  expect(answer.status).toBe(200);
  await h.waitFor(`an answer to ${command}`, () => h.connector.sent.slice(before).some((r) => r.activity?.type === 'message'));
  await settle();
}

/** Text the bot sent to `user` alone (targeted in the conversation, or a 1:1 chat). */
function privateTo(user: TeamsUser): string[] {
  return h.connector.sent
    .filter((r) => (r.targeted && (r.activity?.recipient as { id?: string } | undefined)?.id === user.id) || r.conversationId === `a:1${Buffer.from(user.id).toString('base64url')}`)
    .map((r) => String(r.activity?.text ?? ''));
}

async function auditOf(b: TestBot, databaseUrl: string): Promise<AuditRecord[]> {
  bots.splice(bots.indexOf(b), 1);
  await b.stop();
  const store = await openStore({ databaseUrl, logger: captureLogger('warn').logger });
  try {
    return (await store.listAudit({ limit: 500 })).reverse();
  } finally {
    await store.close();
  }
}

describe('taking an alert', () => {
  it('Take it makes the clicker the owner on the card and tells the listener; a second taker is told privately who has it; a replayed or repeated take changes nothing', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('owntake');
    const alertKey = h.alert([p.entra]);
    const { b, listener, databaseUrl } = await ownerBot();
    const card = await h.waitForCard(b, p.sam);
    const original = takeButton(card.record.activity?.attachments);
    expect(original?.title).toBe('Take it');

    // Alice takes it, with an activity the test keeps to replay.
    member(ALICE_USER);
    const click = adaptiveCardAction(b.ctx, { user: ALICE_USER, verb: 'take', data: original!.data, cardActivityId: card.activityId, threadRootId: card.rootActivityId });
    const first = await h.post(b, click);
    const answer = (first.body as { value?: unknown }).value;
    expect(cardText(answer)).toMatch(/Owner: Alice Example since \d\d:\d\d UTC/);
    expect(takeButton(answer)).toBeUndefined();
    await h.waitFor('the card updated for everyone', () => cardText(h.currentCard(card)).includes('Owner: Alice Example'));
    await h.waitFor('the take in the thread', () => h.threadTexts(card).includes('Alice Example took this alert.'));
    expect(listener.changes.map((c) => [c.alertKey, c.owner.id, c.owner.name, c.by.id, c.source, c.sourceId])).toEqual([[alertKey, ALICE_USER.aadObjectId, 'Alice Example', ALICE_USER.aadObjectId, 'graph', expect.any(String)]]);

    // Bob presses the old card's button (the data kept from before): told, only him, who has it.
    const second = await takeClick(b, card, BOB_USER, original!.data);
    expect(second.text).toMatch(/^Alice Example has this alert \(since .* UTC\)\. A lead can take it over by typing: take \w+ \(or re-assign it: assign \w+ @person\)\.$/);
    expect(second.card).toBeUndefined();
    // ...and typed: a targeted answer to Bob, nothing in the thread.
    const threadBefore = publicThread(card).length;
    await type(b, card, BOB_USER, `take ${original!.data.code as string}`);
    expect(privateTo(BOB_USER).at(-1)).toMatch(/^Alice Example has this alert/);
    expect(publicThread(card).length).toBe(threadBefore);

    // The same activity again (a replay): answered, not run. Alice again, a new click: nothing changes.
    expect((await h.post(b, click)).status).toBe(200);
    const again = await takeClick(b, card, ALICE_USER, original!.data);
    expect(again.text ?? cardText(again.card)).toContain('You already have this alert.');
    await settle();
    expect(listener.changes).toHaveLength(1);
    expect(cardText(h.currentCard(card))).toContain('Owner: Alice Example');

    const audit = await auditOf(b, databaseUrl);
    expect(audit.filter((e) => e.action === 'alert.taken' && e.alertKey === alertKey).map((e) => e.actor)).toEqual([ALICE_USER.aadObjectId]);
  });

  it('two people taking at once produce one owner, one listener call, one audit entry', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('ownrace');
    const alertKey = h.alert([p.entra]);
    const { b, listener, databaseUrl } = await ownerBot();
    const card = await h.waitForCard(b, p.sam);
    const data = takeButton(card.record.activity?.attachments)!.data;
    const answers = await Promise.all([ALICE_USER, BOB_USER, DAVE_USER].map((user) => takeClick(b, card, user, data)));
    const winners = answers.filter((a) => cardText(a.card).includes('You have this alert now.'));
    expect(winners).toHaveLength(1);
    const owner = listener.changes[0]!.owner.name;
    for (const loser of answers.filter((a) => a !== winners[0])) expect(loser.text).toMatch(new RegExp(`^${owner} has this alert`));
    await settle();
    expect(listener.changes).toHaveLength(1);
    const audit = await auditOf(b, databaseUrl);
    expect(audit.filter((e) => e.action === 'alert.taken' && e.alertKey === alertKey)).toHaveLength(1);
  });

  it('a non-reader cannot take an alert (button or typed): refused privately and audited, the card unchanged; a reader can', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('ownmal');
    const alertKey = h.alert([p.entra]);
    const { b, listener, databaseUrl } = await ownerBot();
    const card = await h.waitForCard(b, p.sam);
    const data = takeButton(card.record.activity?.attachments)!.data;
    const refused = await takeClick(b, card, MALLORY_USER, data);
    expect(refused.text).toBe('Only readers and approvers may take an alert; nothing changed.');
    await type(b, card, MALLORY_USER, `take ${data.code as string}`);
    expect(privateTo(MALLORY_USER).at(-1)).toMatch(/^Only readers and approvers may take an alert/);
    await settle();
    expect(cardText(h.currentCard(card))).not.toContain('Owner:');
    expect(listener.changes).toEqual([]);

    // Dave, a reader who is not an approver, may.
    const taken = await takeClick(b, card, DAVE_USER, data);
    expect(cardText(taken.card)).toContain('Owner: Dave Reader');
    const audit = await auditOf(b, databaseUrl);
    expect(audit.filter((e) => e.action === 'alert.ownership.unauthorized' && e.alertKey === alertKey).map((e) => e.actor)).toEqual([MALLORY_USER.aadObjectId, MALLORY_USER.aadObjectId]);
  });

  it('a hand-made take naming another alert never puts that alert on the card it was pressed on: answered in words, each card shows its own owner', async (ctx) => {
    requireSamba(ctx);
    const pa = await h.person('ownha');
    const pb = await h.person('ownhb');
    h.alert([pa.entra]);
    h.alert([pb.entra]);
    const { b } = await ownerBot();
    const cardA = await h.waitForCard(b, pa.sam);
    const cardB = await h.waitForCard(b, pb.sam);
    const dataB = takeButton(cardB.record.activity?.attachments)!.data;
    // Pressed on card A, data of alert B.
    const answer = await takeClick(b, cardA, DAVE_USER, dataB);
    expect(answer.card).toBeUndefined();
    expect(answer.text).toBe('You have this alert now.');
    await h.waitFor('card B updated', () => cardText(h.currentCard(cardB)).includes('Owner: Dave Reader'));
    await settle();
    expect(cardText(h.currentCard(cardA))).not.toContain('Owner:');
    expect(cardText(h.currentCard(cardA))).toContain(pa.sam);
    expect(takeButton(h.currentCard(cardA))).toBeDefined();

    // Hostile data: a huge key, an unknown code, no alert at all: a sentence each, nothing changes.
    expect((await takeClick(b, cardA, DAVE_USER, { alertKey: 'k'.repeat(5000) })).text).toMatch(/^This button carries more data than/);
    expect((await takeClick(b, cardA, DAVE_USER, { alertKey: 'k'.repeat(300) })).text).toBe('This button does not name an alert.');
    expect((await takeClick(b, cardA, DAVE_USER, { code: 'NOPE99' })).text).toBe('That alert is not known to the bot (any more).');
    expect((await takeClick(b, cardA, DAVE_USER, { alertKey: ['x'], code: { $ne: 1 } })).text).toBe('This button does not name an alert.');
    await settle();
    expect(cardText(h.currentCard(cardA))).not.toContain('Owner:');
  });
});

describe('re-assigning an alert', () => {
  it('a non-lead cannot re-assign; a lead can, to a reader only: the card and the listener follow; a lead takes over by typing take', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('ownassign');
    const alertKey = h.alert([p.entra]);
    const { b, listener, databaseUrl } = await ownerBot();
    const card = await h.waitForCard(b, p.sam);
    const code = takeButton(card.record.activity?.attachments)!.data.code as string;
    await takeClick(b, card, ALICE_USER);

    // Bob is an approver, not a lead.
    await type(b, card, BOB_USER, `assign ${code}`, [DAVE_USER]);
    expect(privateTo(BOB_USER).at(-1)).toBe('Only SOC leads may re-assign an alert; nothing changed.');
    // Carol leads, but Mallory may not own alerts.
    await type(b, card, CAROL_USER, `assign ${code}`, [MALLORY_USER]);
    expect(privateTo(CAROL_USER).at(-1)).toMatch(/^Mallory Outsider is not a reader or approver of this bot/);
    expect(cardText(h.currentCard(card))).toContain('Owner: Alice Example');
    expect(listener.changes).toHaveLength(1);

    // Carol assigns it to Dave: the card, the thread and the listener say so.
    await type(b, card, CAROL_USER, `assign ${code}`, [DAVE_USER]);
    await h.waitFor('the card showing Dave', () => cardText(h.currentCard(card)).includes('Owner: Dave Reader'));
    await h.waitFor('the thread line', () => h.threadTexts(card).includes('Carol Lead assigned this alert to Dave Reader (was Alice Example).'));
    expect(listener.changes.at(-1)).toMatchObject({ alertKey, owner: { id: DAVE_USER.aadObjectId, name: 'Dave Reader', teamsId: DAVE_USER.id }, previous: { id: ALICE_USER.aadObjectId }, by: { id: CAROL_USER.aadObjectId, name: 'Carol Lead' } });

    // A button never takes over, a lead's neither (two people pressing Take it must not swap owners).
    const leadClick = await takeClick(b, card, CAROL_USER, { code });
    expect(leadClick.text).toMatch(/^Dave Reader has this alert .* A lead can take it over by typing: take /);
    expect(cardText(h.currentCard(card))).toContain('Owner: Dave Reader');
    // Carol takes it over herself, typed; Bob (not a lead) cannot.
    await type(b, card, BOB_USER, `take ${code}`);
    expect(privateTo(BOB_USER).at(-1)).toMatch(/^Dave Reader has this alert/);
    await type(b, card, CAROL_USER, `take ${code}`);
    await h.waitFor('the card showing Carol', () => cardText(h.currentCard(card)).includes('Owner: Carol Lead'));
    expect(listener.changes.map((c) => c.owner.name)).toEqual(['Alice Example', 'Dave Reader', 'Carol Lead']);

    const audit = (await auditOf(b, databaseUrl)).filter((e) => e.alertKey === alertKey);
    expect(audit.map((e) => e.action).filter((a) => a.startsWith('alert.') && !a.startsWith('alert.escalation'))).toEqual(['alert.posted', 'alert.taken', 'alert.ownership.unauthorized', 'alert.assigned', 'alert.taken-over']);
  });
});
