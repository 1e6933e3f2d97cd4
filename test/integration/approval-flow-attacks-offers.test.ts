import { describe, expect, it } from 'vitest';
import { ALICE_USER, BOB_USER } from '../../sim/teams/bot-activity.ts';
import { cardButtons, cardText, MALLORY_USER, replaceAttribute, type BotHarness } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 9, attacked end to end (part 2: what the bot offered, card writes, resume). The real bot
 * through /api/messages with Teams-shaped activities, the real Samba AD DC, the local Graph/Okta/
 * connector stand-ins; effects read back. Each test here failed on the approvals before issue 9
 * (fd6227c).
 */

let h: BotHarness;
const { bot } = useBotE2e((harness) => (h = harness));
const UAC_DISABLED = 0x2;
const settle = () => new Promise((r) => setTimeout(r, 400));

/** Posts `lookup <who>` in the bot's channel and returns the lookup card the bot answered with. */
async function lookupCard(b: Parameters<BotHarness['say']>[0], sam: string) {
  expect((await h.say(b, ALICE_USER, `lookup ${h.samba.domain}\\${sam}`)).status).toBe(200);
  const posted = await h.waitFor('the lookup card', () => h.connector.sent.find((r) => r.kind !== 'update' && JSON.stringify(r.activity ?? {}).includes(`E2E ${sam}`) && Array.isArray(r.activity?.attachments)));
  const content = (posted.activity?.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content;
  return { activityId: posted.activityId, card: content };
}

describe('only what the bot offered, on the card it offered it on', () => {
  it('hand-made lookup-card data (no alert) asking for enable-ad-account, dismiss-risk, enable-entra or a retry of them is refused and changes nothing', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eleaver');
    // A leaver: disabled in AD, flagged compromised in Entra. An approver wants them back.
    await replaceAttribute(h, p.dn, 'userAccountControl', '514');
    p.entra.riskState = 'confirmedCompromised';
    const b = await bot({ ALERT_SOURCES: 'none' });
    const real = await lookupCard(b, p.sam);
    const target = `sid:${p.sid.toLowerCase()}`;
    // The card never offers an undo, whatever the account's state.
    expect(cardButtons(real.card).map((x) => x.data.action)).not.toEqual(expect.arrayContaining(['enable-ad-account']));

    for (const action of ['enable-ad-account', 'dismiss-risk', 'enable-entra']) {
      const answer = await h.click(b, real, action, ALICE_USER, { data: { action, target } });
      expect(answer.status).toBe(200);
      expect(answer.text, action).toMatch(/not offered/);
      const retried = await h.click(b, real, action, ALICE_USER, { verb: 'retry', data: { action, target } });
      expect(retried.text, `retry ${action}`).toMatch(/nothing to retry/i);
    }
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    expect(p.entra.riskState).toBe('confirmedCompromised');
    expect(h.graph.actions.filter((a) => a.target === p.entra.id)).toEqual([]);
  });

  it('a lookup-card click whose replyToId is not a lookup card the bot posted (here: made up, and an alert card) is refused and runs nothing', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2enotcard');
    const q = await h.person('e2eother');
    h.alert([q.entra]);
    const b = await bot();
    const alertCard = await h.waitForCard(b, q.sam);
    const real = await lookupCard(b, p.sam);
    const button = cardButtons(real.card).find((x) => x.data.action === 'disable-ad-account')!;
    expect(button.data).toEqual({ action: 'disable-ad-account', target: `sid:${p.sid.toLowerCase()}` });

    for (const activityId of [String(Date.now() - 5_000), alertCard.activityId]) {
      const answer = await h.click(b, { activityId, card: real.card }, 'disable-ad-account', ALICE_USER, { data: button.data });
      expect(answer.text, activityId).toMatch(/not offered|which card/);
    }
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect((await h.readAd(q.dn)).uac & UAC_DISABLED).toBe(0);
  });
});

/** Two people, an alert about each, the bot, and both cards as posted (card A is clicked, B's data is borrowed). */
async function twoAlertCards(prefix: string) {
  const p = await h.person(`${prefix}a`);
  const q = await h.person(`${prefix}b`);
  h.alert([p.entra]);
  h.alert([q.entra]);
  const b = await bot();
  return { p, q, b, cardA: await h.waitForCard(b, p.sam), cardB: await h.waitForCard(b, q.sam) };
}

describe('card writes only where the card lives', () => {
  it("a refused Action.Submit (Mallory) whose alertKey names ANOTHER alert's card updates no message at all", async (ctx) => {
    requireSamba(ctx);
    const { p, q, b, cardA, cardB } = await twoAlertCards('e2ecard');
    const before = cardText(h.currentCard(cardA));
    const other = cardButtons(cardB.record.activity?.attachments).find((x) => x.data.action === 'disable-ad-account')!;
    expect(other.data.alertKey).not.toBe(cardButtons(cardA.record.activity?.attachments)[0]?.data.alertKey);

    const mark = h.connector.sent.length;
    const clicked = await h.click(b, cardA, 'disable-ad-account', MALLORY_USER, { via: 'submit', data: other.data });
    expect(clicked.status).toBe(200);
    await h.waitFor('the private refusal', () => h.connector.sent.slice(mark).find((r) => String(r.activity?.text ?? '').includes('not an approver')));
    await settle();
    expect(h.connector.sent.slice(mark).filter((r) => r.kind === 'update')).toEqual([]);
    expect(cardText(h.currentCard(cardA))).toBe(before);
    expect((await h.readAd(q.dn)).uac & UAC_DISABLED).toBe(0);
  });
});

describe('card writes only where the card lives (an approver\'s click)', () => {
  it("an approver's click on card A carrying alert B's button data decides about B, but writes B's card only where B's card lives, never into A's message", async (ctx) => {
    requireSamba(ctx);
    const { p, q, b, cardA, cardB } = await twoAlertCards('e2ewhere');
    const before = cardText(h.currentCard(cardA));
    const buttonOfB = (action: string) => cardButtons(cardB.record.activity?.attachments).find((x) => x.data.action === action)!;

    const mark = h.connector.sent.length;
    const submitted = await h.click(b, cardA, 'revoke-sessions', ALICE_USER, { via: 'submit', data: buttonOfB('revoke-sessions').data });
    expect(submitted.status).toBe(200);
    await h.waitFor("B's card updated where it lives", () => /approved by Alice Example/i.test(cardText(h.currentCard(cardB))));
    const executed = await h.click(b, cardA, 'mark-compromised', ALICE_USER, { data: buttonOfB('mark-compromised').data });
    expect(executed.status).toBe(200);
    await h.waitFor('both results in B\'s thread', () => h.threadTexts(cardB).length >= 2);
    await settle();
    expect(h.connector.sent.slice(mark).filter((r) => r.kind === 'update' && r.activityId === cardA.activityId)).toEqual([]);
    expect(cardText(h.currentCard(cardA))).toBe(before);
    // In A's thread at most a word to the clicker alone (targeted), nothing for everyone.
    expect(h.connector.repliesIn(cardA.rootActivityId).filter((r) => !r.targeted)).toEqual([]);
  });
});

describe('resume starts only what has not expired', () => {
  it('an action approved but held by the hourly cap (1) past its expiry is not started by resume: reported expired, Samba unchanged', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eresume');
    h.alert([p.entra]);
    const clock = { offsetMs: 0 };
    const b = await bot({ MAX_ACTIONS_PER_HOUR: '1', APPROVAL_TTL_MINUTES: '1' }, { now: () => new Date(Date.now() + clock.offsetMs) });
    const card = await h.waitForCard(b, p.sam);
    await h.click(b, card, 'revoke-sessions', ALICE_USER);
    await h.waitFor('the revoke', () => h.threadTexts(card).find((t) => t.startsWith('Revoked')));
    const held = await h.click(b, card, 'disable-ad-account', ALICE_USER);
    expect(cardText(held.card)).toContain('execution is paused');
    await h.waitFor('the pause notice', () => h.threadTexts(card).find((t) => t.startsWith('Execution paused')));

    // Two minutes later (approvals last one), an approver lifts the pause.
    clock.offsetMs = 2 * 60_000;
    const mark = h.connector.sent.length;
    await h.say(b, BOB_USER, 'resume', 'channel', card.rootActivityId);
    const answer = await h.waitFor('the resume answer', () => h.connector.sent.slice(mark).map((r) => String(r.activity?.text ?? '')).find((t) => /resumed/i.test(t)));
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect(answer).toMatch(/0 approved action\(s\) started/);
    expect(answer).toMatch(/1 approval\(s\) had expired while waiting and were not started/);
    expect(h.threadTexts(card).filter((t) => t.startsWith('Disabled'))).toEqual([]);
  });
});
