import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ALICE_USER, BOB_USER } from '../../sim/teams/bot-activity.ts';
import type { GraphAlert } from '../../sim/tenant.ts';
import { cardButtons, cardText, MALLORY_USER, type BotHarness, type CardRef, type TestBot } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 15, write-back to Defender, end to end: the real bot through /api/messages (Teams-shaped
 * invokes and Submits), the real Samba AD DC, and the Graph stand-in over TLS driven by the Graph
 * SDK, which records every alert PATCH and alert/incident comment it accepted (`graph.actions`).
 */

let h: BotHarness;
const { bot } = useBotE2e((harness) => (h = harness));

const UAC_DISABLED = 0x2;
const WRITEBACK = { DEFENDER_WRITEBACK: 'on', DEFENDER_WRITEBACK_RETRY_SECONDS: '1' };

function graphAlertOf(key: string): GraphAlert {
  const found = [...h.demo.tenant.alerts.values()].find((a) => a.providerAlertId === key);
  if (!found) throw new Error(`no Graph alert ${key}`);
  return found;
}

/** Comments Defender holds for the alert, and its incident. */
function alertComments(key: string): string[] {
  return ((graphAlertOf(key).comments as { comment: string }[] | undefined) ?? []).map((c) => c.comment);
}
function incidentComments(key: string): string[] {
  return ((h.graph.incidentComments.get(String(graphAlertOf(key).incidentId)) ?? []) as { comment: string }[]).map((c) => c.comment);
}
const writes = (key: string) => h.graph.actions.filter((a) => a.target === graphAlertOf(key).id || a.target === String(graphAlertOf(key).incidentId));

async function setup(extra: Record<string, string> = WRITEBACK): Promise<{ b: TestBot; card: CardRef; key: string; p: Awaited<ReturnType<BotHarness['person']>> }> {
  const p = await h.person('e2ewb');
  const key = h.alert([p.entra]);
  const b = await bot(extra);
  const card = await h.waitForCard(b, p.sam);
  return { b, card, key, p };
}

function closeData(card: CardRef): Record<string, unknown> {
  const close = cardButtons(h.currentCard(card)).find((x) => x.verb === 'close');
  if (!close) throw new Error('no Close button on the card');
  return close.data;
}

describe('write-back to Defender (DEFENDER_WRITEBACK=on)', () => {
  it('an approval and its result become comments on the alert and its incident with the approvers names; the alert goes inProgress', async (ctx) => {
    requireSamba(ctx);
    const { b, card, key, p } = await setup();
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    await h.waitFor('the result in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Disabled')));
    const comments = await h.waitFor('three comments on the alert', () => alertComments(key).length >= 2 && alertComments(key));
    expect(comments[0]).toMatch(/^incident-bot: Disable AD account for .* approved by Alice Example at \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/);
    expect(comments[1]).toMatch(new RegExp(`^incident-bot: action succeeded at .* UTC: Disabled .*${p.sam} in AD — approved by Alice Example`));
    await h.waitFor('the same comments on the incident', () => incidentComments(key).length === 2);
    expect(incidentComments(key)).toEqual(comments.slice(0, 2));
    expect(graphAlertOf(key).status).toBe('inProgress');
    // Each event written once, in order: approval comment, status, result comment.
    const kinds = writes(key).map((w) => `${w.kind}:${w.kind === 'updateAlert' ? JSON.stringify(w.body) : ''}`);
    expect(kinds.filter((k) => k.startsWith('commentAlert'))).toHaveLength(2);
    expect(kinds.filter((k) => k.startsWith('updateAlert'))).toEqual(['updateAlert:{"status":"inProgress"}']);
    // The card says the write-back is done; `status` shows the outbox.
    await h.waitFor('the card write-back line', () => cardText(h.currentCard(card)).includes('Defender: up to date'), 20_000);
    await h.say(b, ALICE_USER, 'status');
    const status = await h.waitFor('the status answer', () => h.channelTexts().match(/Defender write-back\*\*: 0 pending · 0 failed · \d+ sent/));
    expect(status).toBeTruthy();
  });

  it('Take it writes the owner back: assignedTo = the taker\'s UPN from Entra, status inProgress, a comment; a second taker writes nothing', async (ctx) => {
    requireSamba(ctx);
    const { b, card, key } = await setup();
    const take = cardButtons(h.currentCard(card)).find((x) => x.verb === 'take');
    expect(take).toBeDefined();
    await h.click(b, card, undefined as unknown as string, ALICE_USER, { verb: 'take', data: take!.data });
    await h.waitFor('assignedTo on the Defender alert', () => graphAlertOf(key).assignedTo === `alice.example@${h.demo.tenant.domain}`);
    expect(graphAlertOf(key).status).toBe('inProgress');
    await h.waitFor('the owner comment', () => alertComments(key).some((c) => /^incident-bot: assigned to Alice Example by Alice Example at /.test(c)));
    // Bob cannot take what Alice owns. Write-backs of one alert go out in order, so once a later
    // event (an approval's result) is in Defender, anything Bob's click had queued would be too.
    await h.click(b, card, undefined as unknown as string, BOB_USER, { verb: 'take', data: take!.data });
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    await h.waitFor('the result comment after the refused take', () => alertComments(key).some((c) => c.startsWith('incident-bot: action succeeded')));
    expect(alertComments(key).filter((c) => c.startsWith('incident-bot: assigned to')), JSON.stringify(alertComments(key))).toHaveLength(1);
    expect(writes(key).filter((w) => w.kind === 'updateAlert' && w.body?.assignedTo !== undefined)).toHaveLength(1);
    expect(graphAlertOf(key).assignedTo).toBe(`alice.example@${h.demo.tenant.domain}`);
  });

  it('a deny from the card carries its reason; a hostile, huge reason is cut and flattened, and shows as text', async (ctx) => {
    requireSamba(ctx);
    const { b, card, key } = await setup();
    const deny = cardButtons(h.currentCard(card)).find((x) => x.verb === 'deny')!;
    // A reason past what the front door accepts in card data: refused in words, nothing denied or written.
    const huge = await h.click(b, card, 'deny', BOB_USER, { verb: 'deny', data: { ...deny.data, comment: 'x'.repeat(20_000) } });
    expect(huge.text).toMatch(/more data than any of my cards sends/);
    const hostile = `travel\u0000\u001b[31m [click](https://evil.example) <img src=x> ${'A'.repeat(3_900)}`;
    const answer = await h.click(b, card, 'deny', BOB_USER, { verb: 'deny', data: { ...deny.data, comment: hostile } });
    expect(answer.status).toBe(200);
    expect(cardText(answer.card)).not.toContain('[click](https://evil.example)');
    const [comment] = await h.waitFor('the deny comment', () => alertComments(key).length > 0 && alertComments(key));
    expect(comment).toMatch(/^incident-bot: .* denied by Bob Analyst at .* UTC\. Reason: "travel \[31m \[click\]\(https:\/\/evil\.example\) <img src=x> A+…?"\.$/);
    // eslint-disable-next-line no-control-regex
    expect(comment).not.toMatch(/[\u0000-\u001f]/);
    expect(comment!.length).toBeLessThanOrEqual(1000);
    expect(alertComments(key)).toHaveLength(1);
    // Nothing ran, nothing else was written.
    expect(writes(key).filter((w) => w.kind === 'updateAlert')).toEqual([]);
  });

  it('closing from the card sets status, classification and determination; a replayed close writes nothing more', async (ctx) => {
    requireSamba(ctx);
    const { b, card, key } = await setup();
    const data = { ...closeData(card), outcome: 'truePositive/compromisedUser' };
    const answer = await h.click(b, card, 'close', BOB_USER, { verb: 'close', data });
    expect(cardText(answer.card)).toContain('Closed by Bob Analyst: True positive: compromised account');
    expect(cardButtons(answer.card).some((x) => x.verb === 'close')).toBe(false);
    await h.waitFor('the alert resolved in Defender', () => graphAlertOf(key).status === 'resolved');
    expect(graphAlertOf(key)).toMatchObject({ status: 'resolved', classification: 'truePositive', determination: 'compromisedUser' });
    expect(alertComments(key)).toEqual([expect.stringMatching(/^incident-bot: closed by Bob Analyst at .* as True positive: compromised account \(truePositive\/compromisedUser\)\.$/)]);
    const before = writes(key).length;
    // The same click again (a replay or a second approver) and a different choice: the first close stands.
    const again = await h.click(b, card, 'close', ALICE_USER, { verb: 'close', data: { ...data, outcome: 'falsePositive/clean' } });
    expect(again.text ?? cardText(again.card)).toContain('Already closed by Bob Analyst');
    await new Promise((r) => setTimeout(r, 1500));
    expect(writes(key).length).toBe(before);
    expect(graphAlertOf(key).classification).toBe('truePositive');
  });

  it('a Graph 503 during write-back is retried later from the outbox; the action result is unaffected', async (ctx) => {
    requireSamba(ctx);
    const { b, card, key, p } = await setup();
    const id = graphAlertOf(key).id;
    const fault = { match: (r: { method: string; path: string }) => r.method === 'POST' && r.path.endsWith(`/alerts_v2/${id}/comments`), status: 503, times: 2 };
    h.graph.faults.push(fault);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    const done = await h.waitFor('the result in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Disabled')));
    expect(done).toContain('approved by Alice Example');
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    // Both injected failures were hit, then the outbox got the comments through, in order.
    const comments = await h.waitFor('the comments after the retries', () => alertComments(key).length >= 2 && alertComments(key), 20_000);
    expect(fault.times).toBe(0);
    expect(comments[0]).toContain('approved by Alice Example');
    expect(comments[1]).toContain('action succeeded');
    expect(b.output()).toMatch(/write-back failed; retried later from the outbox/);
  });

  it('attacks on Close: a non-approver, hand-made data naming another alert, an outcome the form does not offer', async (ctx) => {
    requireSamba(ctx);
    const { b, card, key } = await setup();
    const other = await h.person('e2ewbo');
    const otherKey = h.alert([other.entra]);
    const otherCard = await h.waitForCard(b, other.sam);
    const data = { ...closeData(card), outcome: 'falsePositive/clean' };

    const mallory = await h.click(b, card, 'close', MALLORY_USER, { verb: 'close', data });
    expect(mallory.text).toMatch(/not an approver/);
    // Hand-made: card A's button naming alert B, from a non-approver.
    const forged = await h.click(b, card, 'close', MALLORY_USER, { verb: 'close', data: { ...data, alertKey: otherKey, code: undefined } });
    expect(forged.text).toMatch(/not an approver/);
    const invalid = await h.click(b, card, 'close', BOB_USER, { verb: 'close', data: { ...data, outcome: 'truePositive/clean' } });
    expect(invalid.text).toMatch(/Pick one of the classifications/);
    // An approver's Submit on card A naming alert B: B is closed (they may), answered privately; card A untouched.
    const cardA = JSON.stringify(h.currentCard(card));
    const submit = await h.click(b, card, 'close', BOB_USER, { verb: 'close', via: 'submit', data: { ...closeData(otherCard), outcome: 'falsePositive/clean' } });
    expect(submit.status).toBe(200);
    await h.waitFor('alert B resolved', () => graphAlertOf(otherKey).status === 'resolved');
    await new Promise((r) => setTimeout(r, 500));
    expect(JSON.stringify(h.currentCard(card))).toBe(cardA);
    expect(graphAlertOf(key).status).not.toBe('resolved');
    expect(writes(key)).toEqual([]);
  });
});

describe('a close the write-back never recorded (crash right after it, or closed while off)', () => {
  it('is written back when someone closes again: the stored classification, once', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2ewbr');
    const key = h.alert([p.entra]);
    const dir = mkdtempSync(join(tmpdir(), 'wb-repair-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const shared = { DATABASE_URL: `sqlite:${join(dir, 'bot.db')}` };
    const first = await h.startBot(shared);
    const card = await h.waitForCard(first, p.sam);
    // The button as it was before the close (a second person's stale card, or a replay).
    const button = closeData(card);
    await h.click(first, card, 'close', BOB_USER, { verb: 'close', data: { ...button, outcome: 'truePositive/multiStagedAttack' } });
    await first.stop();
    expect(graphAlertOf(key).status).toBe('new');
    // The same store and channel, now with write-back on: a second close (another choice) repairs it.
    const second = await bot({ ...WRITEBACK, ...shared, TEAMS_CHANNEL_ID: first.channelId });
    const again = await h.click(second, card, 'close', ALICE_USER, { verb: 'close', data: { ...button, outcome: 'falsePositive/clean' } });
    expect(again.text ?? cardText(again.card)).toContain('Already closed by Bob Analyst');
    await h.waitFor('the alert resolved in Defender', () => graphAlertOf(key).status === 'resolved');
    expect(graphAlertOf(key)).toMatchObject({ classification: 'truePositive', determination: 'multiStagedAttack' });
    await h.click(second, card, 'close', ALICE_USER, { verb: 'close', data: { ...button, outcome: 'falsePositive/clean' } });
    await new Promise((r) => setTimeout(r, 1500));
    expect(writes(key).filter((w) => w.kind === 'updateAlert')).toHaveLength(1);
    expect(alertComments(key)).toHaveLength(1);
  });
});

describe('write-back off (the default)', () => {
  it('approve, deny and close make no write call to Graph at all', async (ctx) => {
    requireSamba(ctx);
    const { b, card, key } = await setup({});
    const before = h.graph.actions.length;
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    await h.waitFor('the result in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Disabled')));
    const closed = await h.click(b, card, 'close', BOB_USER, { verb: 'close', data: { ...closeData(card), outcome: 'informationalExpectedActivity/securityTesting' } });
    expect(cardText(closed.card)).toContain('Closed by Bob Analyst: Expected activity: security testing');
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.graph.actions.slice(before).filter((a) => ['commentAlert', 'updateAlert', 'commentIncident'].includes(a.kind))).toEqual([]);
    expect(graphAlertOf(key).status).toBe('new');
  });
});
