import { describe, expect, it } from 'vitest';
import { ALICE_USER, BOB_USER, type TeamsUser } from '../../sim/teams/bot-activity.ts';
import { CAROL_USER, cardButtons, cardText, replaceAttribute, writePolicy, type BotHarness, type CardRef } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 9, attacked end to end (part 1: rounds, privilege, self, the password, dry run). The real
 * bot through /api/messages with Teams-shaped activities, the real Samba AD DC, the local
 * Graph/Okta/connector stand-ins; every effect read back from the directory or the connector.
 * Each test here failed on the approvals before issue 9 (fd6227c).
 */

let h: BotHarness;
const { bot } = useBotE2e((harness) => (h = harness));
const UAC_DISABLED = 0x2;
const settle = () => new Promise((r) => setTimeout(r, 400));

/** The 1:1 chat the local connector opens with `user` (its id derives from the member's id). */
function personalId(user: TeamsUser): string {
  return `a:1${Buffer.from(user.id).toString('base64url')}`;
}

/** What the bot sent into `user`'s 1:1 chat (activities, not only text). */
function privateActivities(user: TeamsUser): Record<string, unknown>[] {
  return h.connector.sent.filter((r) => r.kind === 'send' && r.conversationId === personalId(user)).map((r) => r.activity ?? {});
}

/**
 * Moves an AD account out of OU=Staff (where the bot's service account has its delegated rights)
 * into CN=Users, where the bot may read it but not change it; returns the way back.
 */
async function outOfDelegatedOu(dn: string): Promise<() => Promise<void>> {
  const away = dn.replace(/,OU=Staff,/i, ',CN=Users,');
  expect(away).not.toBe(dn);
  await h.asAdmin((client) => client.modifyDN(dn, away));
  return () => h.asAdmin((client) => client.modifyDN(away, dn));
}

async function failedRun(card: CardRef, action: string): Promise<string> {
  return h.waitFor(`the ${action} failure`, () => h.threadTexts(card).find((t) => t.includes('failed')));
}

describe('retry opens a new round', () => {
  it('a failed two-approver reset retried by ONE approver does nothing until a second distinct approver votes in the new round; the password goes only to a voter of that round', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eretry');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const before = (await h.readAd(p.dn)).pwdLastSet;

    // Round 1: Carol and Alice approve; the run fails (the account is outside the delegated OU).
    const back = await outOfDelegatedOu(p.dn);
    expect(cardText((await h.click(b, card, 'reset-password', CAROL_USER)).card)).toContain('1 of 2: Carol Lead');
    await h.click(b, card, 'reset-password', ALICE_USER);
    expect(await failedRun(card, 'reset')).toMatch(/^Reset AD password for .* failed: /);
    await back();
    expect((await h.readAd(p.dn)).pwdLastSet).toBe(before);

    // Round 2: Bob alone presses Retry (twice, and Approve too): one vote, nothing runs.
    await h.waitFor('the Retry button', () => cardButtons(h.currentCard(card)).some((x) => x.verb === 'retry' && x.data.action === 'reset-password'));
    const retried = await h.click(b, card, 'reset-password', BOB_USER, { verb: 'retry' });
    expect(cardText(retried.card)).toMatch(/Reset AD password: Awaiting approval 1 of 2: Bob Analyst/);
    const retryButton = cardButtons(card.record.activity?.attachments).find((x) => x.data.action === 'reset-password')!;
    // ...and the Retry button's data sent again by hand, as an Action.Submit.
    expect((await h.click(b, card, 'reset-password', BOB_USER, { verb: 'retry', via: 'submit', data: retryButton.data })).status).toBe(200);
    const again = await h.click(b, card, 'reset-password', BOB_USER);
    expect(cardText(again.card)).toContain('1 of 2: Bob Analyst');
    await settle();
    expect((await h.readAd(p.dn)).pwdLastSet).toBe(before);
    expect(h.threadTexts(card).filter((t) => t.startsWith('Reset') && !t.includes('failed'))).toEqual([]);

    // Alice votes in the new round: it runs once, and the password goes to her, a voter of this round.
    await h.click(b, card, 'reset-password', ALICE_USER);
    const line = await h.waitFor('the reset result', () => h.threadTexts(card).find((t) => t.startsWith('Reset') && !t.includes('failed')));
    expect(line).toContain('approved by Bob Analyst, Alice Example');
    expect(line).toContain('The temporary password was sent privately to Alice Example.');
    expect((await h.readAd(p.dn)).pwdLastSet).toBe('0');
    await h.waitFor('the password message to Alice', () => privateActivities(ALICE_USER).length > 0);
    await settle();
    // Carol voted only in the failed round; Bob's vote did not complete this one.
    expect(privateActivities(CAROL_USER)).toEqual([]);
    expect(privateActivities(BOB_USER)).toEqual([]);
    expect(privateActivities(ALICE_USER)).toHaveLength(1);
  });

  it('the new round has a fresh expiry: a retry days after the failure is neither expired at once nor run by one vote', async (ctx) => {
    requireSamba(ctx);
    const policy = writePolicy({ version: 1, approvals: { default: 1, 'disable-ad-account': 2 }, rules: [], default: { actions: ['disable-ad-account', 'revoke-sessions'] } });
    const p = await h.person('e2eretexp');
    h.alert([p.entra]);
    const clock = { offsetMs: 0 };
    const b = await bot({ ACTION_POLICY_FILE: policy, APPROVAL_TTL_MINUTES: '60' }, { now: () => new Date(Date.now() + clock.offsetMs) });
    const card = await h.waitForCard(b, p.sam);
    const back = await outOfDelegatedOu(p.dn);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    await h.click(b, card, 'disable-ad-account', BOB_USER);
    await failedRun(card, 'disable');
    await back();

    // Three days later (approvals last an hour), Carol retries; Alice completes the new round 59 min after.
    clock.offsetMs = 3 * 24 * 60 * 60_000;
    const retried = await h.click(b, card, 'disable-ad-account', CAROL_USER, { verb: 'retry' });
    expect(cardText(retried.card)).toContain('Disable AD account: Awaiting approval 1 of 2: Carol Lead');
    clock.offsetMs += 59 * 60_000;
    await b.sweepNow();
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    await h.waitFor('disabled in AD', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
    const line = await h.waitFor('the result', () => h.threadTexts(card).find((t) => t.startsWith('Disabled')));
    expect(line).toContain('approved by Carol Lead, Alice Example');
  });

  it('a retried disable on an account that became privileged (adminCount=1) since it failed needs PROTECTED_ACCOUNT_APPROVALS=2: one retry runs nothing', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eretpriv');
    h.alert([p.entra]);
    const b = await bot({ PROTECTED_ACCOUNT_APPROVALS: '2' });
    const card = await h.waitForCard(b, p.sam);
    const back = await outOfDelegatedOu(p.dn);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    expect(await failedRun(card, 'disable')).toMatch(/^Disable AD account for .* failed: /);
    await back();
    // Between the failure and the retry the account became privileged.
    await replaceAttribute(h, p.dn, 'adminCount', '1');

    await h.waitFor('the Retry button', () => cardButtons(h.currentCard(card)).some((x) => x.verb === 'retry' && x.data.action === 'disable-ad-account'));
    const retried = await h.click(b, card, 'disable-ad-account', ALICE_USER, { verb: 'retry' });
    expect(cardText(retried.card)).toMatch(/Disable AD account: Awaiting approval 1 of 2: Alice Example/);
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    // The second distinct approver completes the privileged round.
    await h.click(b, card, 'disable-ad-account', BOB_USER);
    await h.waitFor('disabled in AD', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
  });

  it('with PROTECTED_ACCOUNT_APPROVALS=refuse, the retry of an account that became privileged is refused in words and runs nothing', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eretref');
    h.alert([p.entra]);
    const b = await bot({ PROTECTED_ACCOUNT_APPROVALS: 'refuse' });
    const card = await h.waitForCard(b, p.sam);
    const back = await outOfDelegatedOu(p.dn);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    await failedRun(card, 'disable');
    await back();
    await replaceAttribute(h, p.dn, 'adminCount', '1');

    const retried = await h.click(b, card, 'disable-ad-account', ALICE_USER, { verb: 'retry' });
    expect(retried.text ?? cardText(retried.card)).toMatch(/is a protected account \(.*adminCount.*\); contain it by hand/);
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
  });
});

describe('undo', () => {
  it('the undo of a disable that needed two approvers needs two as well: one approver\'s Undo re-enables nothing', async (ctx) => {
    requireSamba(ctx);
    const policy = writePolicy({ version: 1, approvals: { default: 1, 'disable-ad-account': 2 }, rules: [], default: { actions: ['disable-ad-account', 'revoke-sessions'] } });
    const p = await h.person('e2eundo2');
    h.alert([p.entra]);
    const b = await bot({ ACTION_POLICY_FILE: policy });
    const card = await h.waitForCard(b, p.sam);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    await h.click(b, card, 'disable-ad-account', BOB_USER);
    await h.waitFor('disabled in AD', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
    await h.waitFor('the Undo button', () => cardButtons(h.currentCard(card)).some((x) => x.data.action === 'enable-ad-account'));

    const undo = await h.click(b, card, 'enable-ad-account', CAROL_USER);
    expect(cardText(undo.card)).toContain('Enable AD account: Awaiting approval 1 of 2: Carol Lead');
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    await h.click(b, card, 'enable-ad-account', ALICE_USER);
    await h.waitFor('enabled again', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === 0);
  });
});

describe('nobody acts on their own account', () => {
  it('an approver whose Entra account is the synced twin of the alert\'s AD account cannot approve its disable: refused in words, Samba unchanged', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eself');
    const self: TeamsUser = { id: '29:1self-approver-teams-id', name: 'Sam Self', aadObjectId: p.entra.id };
    // The alert names only the AD account: the Entra twin is what the directories find.
    h.alert([{ accountName: p.sam, domainName: h.samba.domain, userSid: p.sid, displayName: `E2E ${p.sam}`, roles: ['compromised'] }]);
    const b = await bot({ APPROVER_USER_IDS: p.entra.id });
    const card = await h.waitForCard(b, p.sam);
    const own = await h.click(b, card, 'disable-ad-account', self);
    expect(own.status).toBe(200);
    expect(own.text ?? cardText(own.card)).toContain('You cannot approve an action on your own account');
    const submitted = await h.click(b, card, 'reset-password', self, { via: 'submit' });
    expect(submitted.status).toBe(200);
    await h.waitFor('the private refusal of the Submit', () => h.connector.sent.find((r) => String(r.activity?.text ?? '').includes('your own account') && r.targeted));
    await settle();
    const ad = await h.readAd(p.dn);
    expect(ad.uac & UAC_DISABLED).toBe(0);
    expect(ad.pwdLastSet).not.toBe('0');
    expect(h.threadTexts(card).filter((t) => /^(Disabled|Reset)/.test(t))).toEqual([]);
  });
});

describe('nobody denies containment of their own account', () => {
  it('an approver pressing Deny on the alert about their own AD account is refused in words; another approver can still contain it', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eselfdeny');
    const self: TeamsUser = { id: '29:1self-denier-teams-id', name: 'Sam Self', aadObjectId: p.entra.id };
    h.alert([{ accountName: p.sam, domainName: h.samba.domain, userSid: p.sid, displayName: `E2E ${p.sam}`, roles: ['compromised'] }]);
    const b = await bot({ APPROVER_USER_IDS: p.entra.id });
    const card = await h.waitForCard(b, p.sam);
    const deny = cardButtons(h.currentCard(card)).find((x) => x.verb === 'deny')!;
    const answer = await h.click(b, card, 'deny', self, { verb: 'deny', data: { ...deny.data, comment: 'false positive, trust me' } });
    expect(answer.text ?? cardText(answer.card)).toContain('your own account');
    await settle();
    expect(h.threadTexts(card).filter((t) => t.startsWith('Denied'))).toEqual([]);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    await h.waitFor('disabled in AD', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
  });
});

describe('the temporary password', () => {
  it('the 1:1 message says only that a password is ready (text and summary); the password is in the card behind an Action.ShowCard, and it is the real one', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2epwcard');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    await h.click(b, card, 'reset-password', ALICE_USER);
    await h.click(b, card, 'reset-password', BOB_USER);
    await h.waitFor('the reset result', () => h.threadTexts(card).find((t) => t.startsWith('Reset')));
    const [message] = await h.waitFor('the password message', () => privateActivities(BOB_USER).length > 0 && privateActivities(BOB_USER));
    // A card, not a text line carrying the password.
    expect(message!.attachments).toEqual([expect.objectContaining({ contentType: 'application/vnd.microsoft.card.adaptive' })]);
    const content = (message!.attachments as Array<{ content: { body?: unknown[]; actions?: Array<Record<string, unknown>> } }>)[0]!.content;
    const reveal = (content.actions ?? []).find((a) => a.type === 'Action.ShowCard');
    expect(reveal).toBeDefined();
    const hidden = (reveal!.card as { body: Array<{ text?: string }> }).body;
    const password = hidden[0]?.text ?? '';
    expect(password.length).toBeGreaterThanOrEqual(12);

    // Where a lock screen or the chat list looks, and the card's visible body: no password.
    expect(String(message!.text ?? '')).toMatch(/password .* is ready/i);
    expect(String(message!.text ?? '')).not.toContain(password);
    expect(String(message!.summary ?? '')).not.toContain(password);
    expect(JSON.stringify(content.body)).not.toContain(password);
    expect(h.channelTexts()).not.toContain(password);
    expect(b.output()).not.toContain(password);

    // It really is the new password: the DC answers "must change" (data 773), not "bad password".
    const { Client, InvalidCredentialsError } = await import('ldapts');
    const client = new Client({ url: h.samba.ldapUrl, timeout: 5_000, tlsOptions: { ca: [(await import('node:fs')).readFileSync(h.samba.caFile, 'utf8')] } });
    const bind = await client.bind(p.dn, password).then(() => 'ok', (e: unknown) => (e instanceof InvalidCredentialsError ? /data (\w+)/.exec(e.message)?.[1] : String(e)));
    await client.unbind().catch(() => undefined);
    expect(bind).toBe('773');
  });
});

describe('dry run', () => {
  it('the thread line of a dry-run action says "dry run" once', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2edry1');
    h.alert([p.entra]);
    const b = await bot({ DRY_RUN: 'true' });
    const card = await h.waitForCard(b, p.sam);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    const line = await h.waitFor('the result', () => h.threadTexts(card).find((t) => /dry run/i.test(t)));
    expect(line.match(/dry run/gi)).toHaveLength(1);
    expect(line).toContain(p.sam);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
  });
});
