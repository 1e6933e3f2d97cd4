import { describe, expect, it } from 'vitest';
import { ALICE_USER, BOB_USER, type TeamsUser } from '../../sim/teams/bot-activity.ts';
import type { SentRecord } from '../../sim/teams/bot-connector-server.ts';
import { cardButtons, cardText, MALLORY_USER, writePolicy, type BotHarness, type CardRef, type TestBot } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 9, one path for typed approval commands: `approve <code> [choice]`, `deny <code>
 * [reason]`, `pending` (alias `approvals`) and `resume` are handled by the command handler
 * alone, which calls the approval use cases. Through the real bot (startIncidentBot, the code
 * production runs) with Teams-shaped @mentions in the alert's thread, the Samba AD DC and the
 * local Graph; every effect read back from the directory or the Graph stand-in.
 */

let h: BotHarness;
const { bot } = useBotE2e((harness) => (h = harness));

const UAC_DISABLED = 0x2;
/** Two approvers for disable-ad-account, one for the rest: a vote leaves a pending approval with its code. */
const twoForDisable = () => writePolicy({ version: 1, approvals: { default: 1, 'disable-ad-account': 2 }, rules: [], default: { actions: ['disable-ad-account', 'revoke-sessions'] } });
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

function textOf(record: SentRecord | undefined): string {
  return String(record?.activity?.text ?? '');
}

/** Says `text` as `user` in the thread of `card` (@mention); resolves with every message the bot sent for it. */
async function sayInThread(b: TestBot, card: CardRef, user: TeamsUser, text: string): Promise<SentRecord[]> {
  const from = h.connector.sent.length;
  expect((await h.say(b, user, text, 'channel', card.rootActivityId)).status).toBe(200);
  await h.waitFor(`an answer to ${text}`, () => h.connector.sent.slice(from).some((r) => r.activity?.type === 'message' && r.kind !== 'update'));
  await settle();
  return h.connector.sent.slice(from).filter((r) => r.activity?.type === 'message' && r.kind !== 'update');
}

/** What everyone in the alert's thread sees (targeted messages are seen by their recipient only). */
function publicThread(card: CardRef): string[] {
  return h.connector.repliesIn(card.rootActivityId).filter((r) => !r.targeted).map(textOf);
}

/** The answer is the first message, in the open; anything after it (the result) is in the open too. */
function firstInTheOpen(sent: SentRecord[]): string {
  expect(sent.length).toBeGreaterThan(0);
  expect(sent.every((r) => !r.targeted)).toBe(true);
  return textOf(sent[0]);
}

/** Exactly one message, targeted at `user` (only they see it in the channel). */
function onlyPrivately(sent: SentRecord[], user: TeamsUser): string {
  expect(sent).toHaveLength(1);
  expect(sent[0]!.targeted).toBe(true);
  expect((sent[0]!.activity?.recipient as { id?: string } | undefined)?.id).toBe(user.id);
  return textOf(sent[0]);
}

async function pendingDisable(b: TestBot, sam: string): Promise<{ card: CardRef; code: string }> {
  const card = await h.waitForCard(b, sam);
  const first = await h.click(b, card, 'disable-ad-account', ALICE_USER);
  const code = /Disable AD account: Awaiting approval 1 of 2: Alice Example · or type: approve (\w+)/.exec(cardText(first.card))?.[1];
  expect(code).toBeDefined();
  return { card, code: code! };
}

describe('typed approval commands: one path, through the command handler', () => {
  it('refusals and usage errors are said privately in the channel and change nothing; a second approver\'s typed approve runs it', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('cmdappr');
    h.alert([p.entra]);
    const b = await bot({ ACTION_POLICY_FILE: twoForDisable() });
    const { card, code } = await pendingDisable(b, p.sam);

    // A non-approver, the approval's own code: refused to her alone, nothing in the thread.
    const mallory = onlyPrivately(await sayInThread(b, card, MALLORY_USER, `approve ${code}`), MALLORY_USER);
    expect(mallory).toContain('not an approver');
    expect(mallory).toContain('Nothing was changed');
    // Usage errors and unknown codes: to the asker only.
    expect(onlyPrivately(await sayInThread(b, card, ALICE_USER, 'approve'), ALICE_USER)).toMatch(/^Usage: `approve <code>`/);
    expect(onlyPrivately(await sayInThread(b, card, ALICE_USER, 'deny *)(x'), ALICE_USER)).toMatch(/^Usage: `deny <code>`/);
    expect(onlyPrivately(await sayInThread(b, card, ALICE_USER, 'approve ZZZZ99'), ALICE_USER)).toMatch(/not known/);
    expect(publicThread(card)).toEqual([]);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);

    // Bob is the second distinct approver: answered in the thread (asked in the open), and it runs.
    const bob = await sayInThread(b, card, BOB_USER, `approve ${code.toLowerCase()}`);
    expect(firstInTheOpen(bob)).toMatch(/^Disable AD account for .+: Approved by Alice Example, Bob Analyst — (running|starting)/);
    await h.waitFor('disabled in AD', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
  });

  it('pending (and its alias approvals) in a channel is answered privately: the codes go to the asker only', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('cmdpend');
    h.alert([p.entra]);
    const b = await bot({ ACTION_POLICY_FILE: twoForDisable() });
    const { card, code } = await pendingDisable(b, p.sam);
    for (const command of ['pending', 'approvals', '/pending']) {
      const text = onlyPrivately(await sayInThread(b, card, BOB_USER, command), BOB_USER);
      expect(text).toContain(`**${code}** Disable AD account`);
    }
    expect(publicThread(card)).toEqual([]);
  });

  it('approve <ref> <action name> picks the proposal by name; deny <ref> <reason> denies the rest, in the thread', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('cmdname');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const ref = cardButtons(card.record.activity?.attachments)[0]?.data.code as string;
    expect(ref).toMatch(/^[A-Z0-9-]+$/);

    const approved = await sayInThread(b, card, ALICE_USER, `approve ${ref} revoke-sessions`);
    expect(firstInTheOpen(approved)).toMatch(/^Revoke sessions for .+: Approved by Alice Example/);
    await h.waitFor('the revoke at Graph', () => h.graph.actions.some((a) => a.kind === 'revokeSignInSessions' && a.target === p.entra.id));

    const denied = await sayInThread(b, card, BOB_USER, `deny ${ref} known pen test`);
    expect(firstInTheOpen(denied)).toMatch(/^Denied by Bob Analyst: known pen test/);
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
  });

  it('resume: a non-approver is refused privately; an approver is answered', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('cmdres');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    expect(onlyPrivately(await sayInThread(b, card, MALLORY_USER, 'resume'), MALLORY_USER)).toContain('not an approver');
    const bob = await sayInThread(b, card, BOB_USER, 'resume');
    expect(bob.map((r) => [r.targeted, textOf(r)])).toEqual([[false, 'Execution was not paused.']]);
  });
});
