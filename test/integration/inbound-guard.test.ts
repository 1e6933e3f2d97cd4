import { describe, expect, it } from 'vitest';
import { ALICE_USER, adaptiveCardAction, channelMention, type TeamsUser } from '../../sim/teams/bot-activity.ts';
import { cardButtons, cardText, MALLORY_USER, type BotHarness, type TestBot } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 11, written as attacks on the real bot (startIncidentBot through /api/messages, the real
 * Samba AD DC, the local connector stand-in): a captured invoke replayed with the same activity
 * id, and a vote whose Teams user id (`from.id`) belongs to someone other than the approver whose
 * object id (`from.aadObjectId`) it claims.
 */

let h: BotHarness;
const { bot } = useBotE2e((harness) => (h = harness));
const UAC_DISABLED = 0x2;

function member(user: TeamsUser): void {
  if (!h.connector.members.some((m) => m.id === user.id)) h.connector.members.push({ id: user.id, name: user.name, aadObjectId: user.aadObjectId, userRole: 'user' });
}

const turnsOf = (b: TestBot, id: string) => (b.log?.lines() ?? []).filter((l) => l.msg === 'turn' && l.turn === id).length;

async function disableButton(b: TestBot, sam: string) {
  const card = await h.waitForCard(b, sam);
  const button = cardButtons(card.record.activity?.attachments).find((x) => x.verb === 'approve' && x.data.action === 'disable-ad-account');
  if (!button) throw new Error('no disable button on the card');
  return { card, data: button.data };
}

describe('replayed activities run once', () => {
  it('the same approve invoke posted twice (a captured request replayed) runs the action once; the copy is answered without running', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2ereplay');
    h.alert([p.entra]);
    const b = await bot();
    const { card, data } = await disableButton(b, p.sam);
    member(ALICE_USER);
    const invoke = adaptiveCardAction(b.ctx, { user: ALICE_USER, verb: 'approve', data, cardActivityId: card.activityId, threadRootId: card.rootActivityId });

    const first = await h.post(b, invoke);
    expect(first.status).toBe(200);
    await h.waitFor('the result in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Disabled')));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    const sentAfterFirst = h.connector.sent.length;

    const replay = await h.post(b, invoke);
    expect(replay.status).toBe(200);
    expect((replay.body as { value?: unknown }).value).toBe('I received this action already; it was not run again.');
    await new Promise((r) => setTimeout(r, 300));
    expect(turnsOf(b, invoke.id)).toBe(1);
    expect(h.connector.sent.length).toBe(sentAfterFirst);
    expect(h.threadTexts(card).filter((t) => t.startsWith('Disabled'))).toHaveLength(1);
  });

  it('a typed command replayed with the same id is answered once', async (ctx) => {
    requireSamba(ctx);
    const b = await bot();
    member(ALICE_USER);
    const message = channelMention(b.ctx, { user: ALICE_USER, command: 'help' });
    await h.post(b, message);
    await h.waitFor('the help answer', () => h.connector.sent.find((r) => r.kind !== 'create' && String(r.activity?.text ?? '').length > 0));
    const sent = h.connector.sent.length;
    await h.post(b, message);
    await new Promise((r) => setTimeout(r, 300));
    expect(turnsOf(b, message.id)).toBe(1);
    expect(h.connector.sent.length).toBe(sent);
  });
});

describe('a vote counts only when from.id and from.aadObjectId are one member of the conversation', () => {
  it("Mallory (a member, not an approver) clicking Approve with Alice's object id is refused; nothing runs", async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eforge');
    h.alert([p.entra]);
    const b = await bot();
    const { card, data } = await disableButton(b, p.sam);
    member(ALICE_USER);
    member(MALLORY_USER);
    const forged: TeamsUser = { id: MALLORY_USER.id, name: ALICE_USER.name, aadObjectId: ALICE_USER.aadObjectId };
    const answer = await h.post(b, adaptiveCardAction(b.ctx, { user: forged, verb: 'approve', data, cardActivityId: card.activityId, threadRootId: card.rootActivityId }));
    expect(answer.status).toBe(200);
    expect((answer.body as { value?: unknown }).value).toBe('Sorry, I could not confirm that this comes from a member of this conversation. Nothing was done.');
    await new Promise((r) => setTimeout(r, 500));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect(cardText(h.currentCard(card))).not.toMatch(/Approved by/);
    const refusal = (b.log?.lines() ?? []).find((l) => l.msg === 'approval attempt refused: sender ids are not one member of the conversation');
    expect(refusal?.verdict).toBe('mismatch');
  });

  it('a Teams user id the conversation does not know, with an approver object id, is refused the same way', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eghost');
    h.alert([p.entra]);
    const b = await bot();
    const { card, data } = await disableButton(b, p.sam);
    const ghost: TeamsUser = { id: '29:1ghost-not-in-this-conversation', name: ALICE_USER.name, aadObjectId: ALICE_USER.aadObjectId };
    const answer = await h.post(b, adaptiveCardAction(b.ctx, { user: ghost, verb: 'approve', data, cardActivityId: card.activityId, threadRootId: card.rootActivityId }));
    expect((answer.body as { value?: unknown }).value).toMatch(/could not confirm/);
    await new Promise((r) => setTimeout(r, 500));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
  });

  it("a typed approve with Mallory's Teams id and Alice's object id is refused", async (ctx) => {
    requireSamba(ctx);
    const b = await bot();
    member(MALLORY_USER);
    const forged: TeamsUser = { id: MALLORY_USER.id, name: ALICE_USER.name, aadObjectId: ALICE_USER.aadObjectId };
    const sentBefore = h.connector.sent.length;
    await h.post(b, channelMention(b.ctx, { user: forged, command: 'approve ABCD-1234' }));
    await h.waitFor('the refusal', () => h.connector.sent.slice(sentBefore).find((r) => String(r.activity?.text ?? '').includes('could not confirm')));
  });
});
