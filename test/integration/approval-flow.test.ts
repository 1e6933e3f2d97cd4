import { describe, expect, it, onTestFinished } from 'vitest';
import { ALICE_USER, BOB_USER } from '../../sim/teams/bot-activity.ts';
import { cardButtons, cardText, MALLORY_USER, writePolicy, type BotHarness, type CardRef } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { gate } from '../support/gate.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 4 end to end: the real bot (startIncidentBot) driven through /api/messages with
 * Teams-shaped invokes, acting on the real Samba AD DC and the local Graph / Okta stand-ins,
 * every effect read back from the directory or server, every reply read from the connector.
 */

let h: BotHarness;
const { bots, bot } = useBotE2e((harness) => (h = harness));

const UAC_DISABLED = 0x2;

describe('AD actions through Teams invokes', () => {
  it('disable-ad-account: answered with "running" before it runs, disabled in Samba, card updated, result threaded; enable undoes it', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2edis');
    h.alert([p.entra]);
    // The bot's own LDAP directory, with the disable held at a gate until the test opens it.
    const held = h.holdDirectory('disableAccount');
    onTestFinished(() => held.gate.open());
    const b = await bot({}, { directory: held.directory });
    const card = await h.waitForCard(b, p.sam);
    expect(cardButtons(card.record.activity?.attachments).some((x) => x.data.action === 'disable-ad-account')).toBe(true);

    // The invoke is answered while the disable cannot have happened yet (if the bot waited for
    // it, this click would never be answered).
    const answer = await h.click(b, card, 'disable-ad-account', ALICE_USER);
    expect(held.gate.isOpen).toBe(false);
    expect(answer.status).toBe(200);
    expect(cardText(answer.card)).toMatch(/Disable AD account: Approved by Alice Example — running/);
    // ...and the action runs asynchronously: it reaches the directory, nothing applied or said yet.
    await held.gate.reached;
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect(h.threadTexts(card)).toEqual([]);
    held.gate.open();

    const done = await h.waitFor('the result in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Disabled')));
    expect(done).toMatch(new RegExp(`^Disabled ${h.samba.domain}\\\\${p.sam} in AD — approved by Alice Example, \\d+\\.\\d s$`));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    const updated = h.currentCard(card);
    expect(cardText(updated)).toContain(`Disabled ${h.samba.domain}\\${p.sam} in AD — approved by Alice Example`);
    expect(cardButtons(updated).filter((x) => x.title.startsWith('Undo')).map((x) => x.data.action)).toEqual(['enable-ad-account']);

    const undo = await h.click(b, card, 'enable-ad-account', BOB_USER);
    expect(undo.status).toBe(200);
    await h.waitFor('the undo result', () => h.threadTexts(card).find((t) => t.startsWith('Enabled')));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
  });

  it('an unauthorised clicker changes nothing and is told so only in the invoke answer', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eunauth');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const sentBefore = h.connector.sent.length;
    const answer = await h.click(b, card, 'disable-ad-account', MALLORY_USER);
    expect(answer.text).toContain('not an approver');
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect(h.connector.sent.length).toBe(sentBefore);
  });
});

describe('a refusal on the Action.Submit path stays private', () => {
  it('a non-approver\'s Submit in the channel is answered targeted at them; where Teams refuses that, in a 1:1 chat; only last in the thread', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2esubno');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const refusals = (from: number) => h.connector.sent.slice(from).filter((r) => String(r.activity?.text ?? '').includes('not an approver'));
    const settle = () => new Promise((r) => setTimeout(r, 300));
    onTestFinished(() => void h.connector.faults.splice(0));

    // Targeted: in the card's thread, visible to Mallory alone; nothing in the open.
    let mark = h.connector.sent.length;
    const first = await h.click(b, card, 'disable-ad-account', MALLORY_USER, { via: 'submit' });
    expect(first.status).toBe(200);
    const targeted = await h.waitFor('the targeted refusal', () => refusals(mark)[0]);
    expect(targeted).toMatchObject({ targeted: true, conversationId: card.threadConversationId });
    expect(targeted.activity?.recipient).toMatchObject({ id: MALLORY_USER.id });
    await settle();
    expect(refusals(mark).map((r) => r.targeted)).toEqual([true]);
    // The card the button was on is only put back as it was.
    expect(cardText(h.currentCard(card))).not.toContain('not an approver');

    // The connector refuses targeted messages: a 1:1 chat with Mallory instead.
    mark = h.connector.sent.length;
    const rejectedBefore = h.connector.rejected.length;
    h.connector.faults.push({ status: 403, times: 1, targeted: true });
    await h.click(b, card, 'disable-ad-account', MALLORY_USER, { via: 'submit' });
    await h.waitFor('the refusal in a 1:1 chat', () => privateTextsTo(MALLORY_USER).find((t) => t.includes('not an approver')));
    await settle();
    expect(h.connector.rejected.slice(rejectedBefore).map((r) => r.status)).toEqual([403]);
    expect(refusals(mark).map((r) => [r.kind, r.conversationId.startsWith('19:')])).toEqual([['send', false]]);

    // Neither is possible: the refusal still reaches Mallory, in the thread (the last resort).
    mark = h.connector.sent.length;
    h.connector.faults.push({ status: 403, times: 1, targeted: true }, { status: 403, times: 1, kinds: ['create'] });
    await h.click(b, card, 'disable-ad-account', MALLORY_USER, { via: 'submit' });
    const open = await h.waitFor('the refusal in the thread', () => refusals(mark)[0]);
    expect(open).toMatchObject({ targeted: false, conversationId: card.threadConversationId });
    await settle();
    expect(refusals(mark)).toHaveLength(1);

    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
  });
});

/** The 1:1 chats the bot opened with `user` and the texts it sent in them. */
function privateActivitiesTo(user: { id: string }): Record<string, unknown>[] {
  const conversation = `a:1${Buffer.from(user.id).toString('base64url')}`;
  return h.connector.sent.filter((r) => r.kind === 'send' && r.conversationId === conversation).map((r) => (r.activity ?? {}) as Record<string, unknown>);
}

/** The password behind the card's "Reveal password" (Action.ShowCard), and what a notification shows. */
function revealedPassword(activity: Record<string, unknown>): { password: string; preview: string } {
  const card = (activity.attachments as { content: { actions?: { type: string; card?: { body?: { text?: string }[] } }[] } }[])[0]!.content;
  const reveal = card.actions?.find((a) => a.type === 'Action.ShowCard');
  return { password: reveal?.card?.body?.[0]?.text ?? '', preview: `${String(activity.text ?? '')} ${String(activity.summary ?? '')}` };
}

function privateTextsTo(user: { id: string }): string[] {
  const chats = h.connector.requests
    .filter((r) => r.method === 'POST' && r.path === '/v3/conversations')
    .map((r) => r.body as { isGroup?: boolean; members?: { id?: string }[] })
    .filter((body) => body.isGroup === false && body.members?.[0]?.id === user.id);
  if (chats.length === 0) return [];
  const ids = new Set(h.connector.sent.filter((r) => r.kind === 'create' && !r.channelId).map((r) => r.conversationId));
  return h.connector.sent.filter((r) => r.kind === 'send' && ids.has(r.conversationId) && r.conversationId === `a:1${Buffer.from(user.id).toString('base64url')}`).map((r) => String(r.activity?.text ?? ''));
}

describe('reset-password: four-eyes, pwdLastSet=0, the password only in a 1:1 chat', () => {
  it('needs two distinct approvers, forces a change at next logon, and sends the password privately to the second', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2epw');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const first = await h.click(b, card, 'reset-password', ALICE_USER);
    expect(cardText(first.card)).toContain('1 of 2: Alice Example');
    // The same person twice does not count.
    const again = await h.click(b, card, 'reset-password', ALICE_USER);
    expect(cardText(again.card)).toContain('1 of 2: Alice Example');
    expect((await h.readAd(p.dn)).pwdLastSet).not.toBe('0');
    const second = await h.click(b, card, 'reset-password', BOB_USER);
    expect(cardText(second.card)).toMatch(/Reset AD password: Approved by Alice Example, Bob Analyst — (running|starting)/);
    const line = await h.waitFor('the reset result', () => h.threadTexts(card).find((t) => t.startsWith('Reset')));
    expect(line).toContain('The temporary password was sent privately to Bob Analyst.');
    expect((await h.readAd(p.dn)).pwdLastSet).toBe('0');

    const delivered = await h.waitFor('the private message', () => privateActivitiesTo(BOB_USER).find((a) => JSON.stringify(a).includes('Reveal password')));
    const { password, preview } = revealedPassword(delivered);
    expect(password.length).toBeGreaterThanOrEqual(12);
    // What a lock screen or the chat list shows says a password is ready, never the password.
    expect(preview).toContain('temporary password');
    expect(preview).not.toContain(password);
    // It really is the new password: the DC answers "must change" (data 773), not "bad password".
    const { Client, InvalidCredentialsError } = await import('ldapts');
    const client = new Client({ url: h.samba.ldapUrl, timeout: 5_000, tlsOptions: { ca: [(await import('node:fs')).readFileSync(h.samba.caFile, 'utf8')] } });
    const bind = await client.bind(p.dn, password).then(() => 'ok', (e: unknown) => (e instanceof InvalidCredentialsError ? /data (\w+)/.exec(e.message)?.[1] : String(e)));
    await client.unbind().catch(() => undefined);
    expect(bind).toBe('773');
    // Never in a channel message or a log line; Alice (first approver) got nothing.
    expect(h.channelTexts()).not.toContain(password);
    expect(b.output()).not.toContain(password);
    expect(privateTextsTo(ALICE_USER)).toEqual([]);
  });
});

describe('Graph and Okta actions, each read back from the stand-in', () => {
  it('mark-compromised and its undo (dismiss), revoke-sessions on a synced user', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2egraph');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const before = p.entra.signInSessionsValidFromDateTime;
    await h.click(b, card, 'mark-compromised', ALICE_USER);
    await h.click(b, card, 'revoke-sessions', ALICE_USER);
    await h.waitFor('both results', () => h.threadTexts(card).length >= 2 && h.threadTexts(card));
    expect(p.entra.riskState).toBe('confirmedCompromised');
    expect(p.entra.signInSessionsValidFromDateTime).not.toBe(before);
    expect(h.graph.actions.filter((a) => a.target === p.entra.id).map((a) => a.kind).sort()).toEqual(['confirmCompromised', 'revokeSignInSessions'].sort());
    await h.click(b, card, 'dismiss-risk', BOB_USER);
    await h.waitFor('dismissed', () => p.entra.riskState === 'dismissed');
  });

  it('suspend-entra on a cloud-only user and enable-entra; refused for a synced user with AD disable + revoke offered instead', async (ctx) => {
    requireSamba(ctx);
    const { addUser } = await import('../../sim/tenant.ts');
    const cloud = addUser(h.demo.tenant, { name: `e2ecloud.${Date.now()}`, synced: false });
    h.alert([cloud]);
    const synced = await h.person('e2esync');
    // MDI sometimes reports a synced account without its SID: suspend-entra is then proposed.
    h.alert([synced.entra], 'passTheTicket', { nulls: true });
    const b = await bot();
    const cloudCard = await h.waitForCard(b, cloud.userPrincipalName);
    await h.click(b, cloudCard, 'suspend-entra', ALICE_USER);
    await h.waitFor('disabled in Entra', () => cloud.accountEnabled === false);
    await h.waitFor('the undo button', () => cardButtons(h.currentCard(cloudCard)).some((x) => x.data.action === 'enable-entra'));
    await h.click(b, cloudCard, 'enable-entra', BOB_USER);
    await h.waitFor('enabled again', () => cloud.accountEnabled === true);

    const syncedCard = await h.waitForCard(b, synced.upn);
    const refused = await h.click(b, syncedCard, 'suspend-entra', ALICE_USER);
    expect(cardText(refused.card)).toMatch(/synced from AD .*disable it in AD and revoke its sessions instead/);
    expect(cardButtons(refused.card).map((x) => x.data.action)).toEqual(expect.arrayContaining(['disable-ad-account', 'revoke-sessions']));
    expect(synced.entra.accountEnabled).toBe(true);
    expect(h.graph.actions.filter((a) => a.target === synced.entra.id)).toEqual([]);
  });

  it('suspend-okta clears sessions; unsuspend-okta undoes it; an Okta 4xx is said in words', async (ctx) => {
    requireSamba(ctx);
    const { findOktaUser } = await import('../../sim/tenant.ts');
    const p = await h.person('e2eokta', { okta: true });
    const q = await h.person('e2eokta4', { okta: true });
    h.alert([p.entra]);
    h.alert([q.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const user = findOktaUser(h.demo.tenant, p.upn)!;
    expect(user.sessionCount).toBeGreaterThan(0);
    // Suspending and ending the sessions are two Okta calls: SUSPENDED alone does not mean the
    // sessions are gone yet. Hold the second call to see that window every run, then the result.
    const clearing = gate();
    onTestFinished(() => clearing.open());
    h.okta.faults.push({ match: (r) => r.method === 'DELETE' && r.path.endsWith(`/users/${user.id}/sessions`), until: clearing.opened });
    await h.click(b, card, 'suspend-okta', ALICE_USER);
    await h.waitFor('the session clearing in flight', () => h.okta.requests.some((r) => r.method === 'DELETE' && r.path.endsWith(`/users/${user.id}/sessions`)));
    expect(user.status).toBe('SUSPENDED');
    expect(user.sessionCount).toBeGreaterThan(0);
    // The outcome is reported only once both calls are done.
    expect(h.threadTexts(card).filter((t) => t.startsWith('Suspended'))).toEqual([]);
    clearing.open();
    const suspended = await h.waitFor('the suspend result', () => h.threadTexts(card).find((t) => t.startsWith('Suspended')));
    expect(suspended).toContain('cleared its Okta sessions and the OAuth tokens Okta issued (remembered devices kept); sessions that apps keep on their own are not ended by Okta');
    expect(user.status).toBe('SUSPENDED');
    expect(user.sessionCount).toBe(0);
    expect(user.oauthTokenCount).toBe(0);
    expect(h.okta.actions.filter((a) => a.userId === user.id).map((a) => a.kind)).toEqual(['suspend', 'clearSessions']);
    // Through the OAuth service app (main.ts wiring): scoped Bearer tokens, never the SSWS token.
    expect(h.okta.requests.some((r) => r.path === '/oauth2/v1/token')).toBe(true);
    expect(h.okta.requests.filter((r) => r.path.startsWith('/api/v1/users/')).every((r) => String(r.headers.authorization).startsWith('Bearer '))).toBe(true);
    await h.waitFor('the undo button', () => cardButtons(h.currentCard(card)).some((x) => x.data.action === 'unsuspend-okta'));
    await h.click(b, card, 'unsuspend-okta', BOB_USER);
    await h.waitFor('active again', () => user.status === 'ACTIVE');

    const other = findOktaUser(h.demo.tenant, q.upn)!;
    other.status = 'DEPROVISIONED';
    const qCard = await h.waitForCard(b, q.sam);
    await h.click(b, qCard, 'suspend-okta', ALICE_USER);
    const failed = await h.waitFor('the Okta failure', () => h.threadTexts(qCard).find((t) => t.includes('failed')));
    expect(failed).toMatch(/^Suspend in Okta for .* failed: .+ Press Retry/);
    expect(failed).not.toMatch(/E0000\d+|HTTP 400 Bad/);
    expect(cardButtons(h.currentCard(qCard)).some((x) => x.verb === 'retry' && x.data.action === 'suspend-okta')).toBe(true);
  });
});

describe('mapped errors in words in the thread', () => {
  it('AD insufficient rights (outsider, outside the delegated OU) and Graph 403 (an app without the role)', async (ctx) => {
    requireSamba(ctx);
    const outsider = await h.findAd('outsider');
    expect(outsider).toBeDefined();
    h.alert([{ accountName: 'outsider', domainName: h.samba.domain, userSid: outsider!.sid, userPrincipalName: `outsider@${h.samba.realm.toLowerCase()}`, displayName: 'Oscar Outsider', roles: ['compromised'] }]);
    const p = await h.person('e2e403');
    h.alert([p.entra]);
    const { READ_ONLY_CLIENT_ID } = await import('../support/bot-harness.ts');
    const b = await bot({ AZURE_CLIENT_ID: READ_ONLY_CLIENT_ID });
    const card = await h.waitForCard(b, 'outsider');
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    const adFailure = await h.waitFor('the AD failure', () => h.threadTexts(card).find((t) => t.includes('failed')));
    expect(adFailure).toMatch(/^Disable AD account for .*outsider failed: /);
    expect(adFailure).toMatch(/right|permission|allowed/i);
    expect((await h.readAd(outsider!.dn)).uac & UAC_DISABLED).toBe(0);

    const pCard = await h.waitForCard(b, p.sam);
    await h.click(b, pCard, 'revoke-sessions', ALICE_USER);
    const graphFailure = await h.waitFor('the Graph failure', () => h.threadTexts(pCard).find((t) => t.includes('failed')));
    expect(graphFailure).toMatch(/^Revoke sessions for .* failed: /);
    expect(graphFailure).toMatch(/permission|right|allowed|forbidden|refused/i);
    expect(graphFailure).not.toMatch(/Authorization_RequestDenied|403 Forbidden/);
  });
});

/** What the bot said in `user`'s 1:1 chat with it (answers to commands typed there). */
function personalChatTexts(user: { id: string }): string[] {
  const conversationId = `a:1${Buffer.from(user.id).toString('base64url')}`;
  return h.connector.sent.filter((r) => r.conversationId === conversationId && r.kind !== 'update').map((r) => String(r.activity?.text ?? ''));
}

/** The alert's reference code, as its buttons carry it (and the card shows it). */
function refOf(card: CardRef): string {
  const code = cardButtons(card.record.activity?.attachments)[0]?.data.code;
  expect(typeof code).toBe('string');
  return code as string;
}

/** Holds Graph's revokeSignInSessions for `entraId` until the returned gate is opened (at the latest when the test ends). */
function holdRevoke(entraId: string) {
  const held = gate();
  onTestFinished(() => held.open());
  h.graph.faults.push({ match: (r) => r.method === 'POST' && r.path.endsWith(`/users/${entraId}/revokeSignInSessions`), until: held.opened });
  return held;
}

const revokesOf = (entraId: string) => h.graph.actions.filter((a) => a.kind === 'revokeSignInSessions' && a.target === entraId).length;

describe('typed commands in a personal chat drive the same flow as the card', () => {
  it('approve <alert ref>: asks which action; approve <ref> <n> answers "running" before it runs, then the result lands in the alert thread', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2etyped');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const ref = refOf(card);

    expect((await h.say(b, ALICE_USER, `approve ${ref}`, 'personal')).status).toBe(200);
    const question = await h.waitFor('the pick list', () => personalChatTexts(ALICE_USER).find((t) => t.startsWith('Which one?')));
    const typed = new RegExp(`Revoke sessions for [^\\n]*: (approve ${ref} \\d+)`).exec(question)?.[1];
    expect(typed).toBeDefined();
    expect(revokesOf(p.entra.id)).toBe(0);

    const held = holdRevoke(p.entra.id);
    expect((await h.say(b, ALICE_USER, typed!, 'personal')).status).toBe(200);
    expect(held.isOpen).toBe(false);
    const answer = await h.waitFor('the typed answer', () => personalChatTexts(ALICE_USER).find((t) => t.startsWith('Revoke sessions for')));
    expect(answer).toMatch(/^Revoke sessions for .+: Approved by Alice Example — running$/);
    // Everyone sees it on the card in the channel; the revoke is under way and not yet done.
    await h.waitFor('the card showing "running"', () => cardText(h.currentCard(card)).includes(answer));
    await h.waitFor('the revoke in flight', () => h.graph.requests.some((r) => r.method === 'POST' && r.path.endsWith(`/users/${p.entra.id}/revokeSignInSessions`)));
    expect(revokesOf(p.entra.id)).toBe(0);
    expect(h.threadTexts(card)).toEqual([]);

    held.open();
    const done = await h.waitFor('the result in the alert thread', () => h.threadTexts(card).find((t) => t.startsWith('Revoked')));
    expect(done).toContain('approved by Alice Example');
    expect(revokesOf(p.entra.id)).toBe(1);
    await h.waitFor('the card with the result', () => cardText(h.currentCard(card)).includes('approved by Alice Example') && !cardText(h.currentCard(card)).includes('— running'));
    // The result goes to the alert's thread, not into the chat it was typed in.
    expect(personalChatTexts(ALICE_USER).filter((t) => t.startsWith('Revoked'))).toEqual([]);
  });

  it('four-eyes across card and chat: Alice clicks, Bob types approve <approval code>; a non-approver typing it changes nothing', async (ctx) => {
    requireSamba(ctx);
    const policy = writePolicy({ version: 1, approvals: { default: 1, 'disable-ad-account': 2 }, rules: [], default: { actions: ['disable-ad-account', 'revoke-sessions'] } });
    const p = await h.person('e2etyped4');
    h.alert([p.entra]);
    const held = h.holdDirectory('disableAccount');
    onTestFinished(() => held.gate.open());
    const b = await bot({ ACTION_POLICY_FILE: policy }, { directory: held.directory });
    const card = await h.waitForCard(b, p.sam);
    const first = await h.click(b, card, 'disable-ad-account', ALICE_USER);
    const code = /Disable AD account: Awaiting approval 1 of 2: Alice Example · or type: approve (\w+)/.exec(cardText(first.card))?.[1];
    expect(code).toBeDefined();

    await h.say(b, MALLORY_USER, `approve ${code}`, 'personal');
    const refused = await h.waitFor('the refusal', () => personalChatTexts(MALLORY_USER).find((t) => t.includes('not an approver')));
    expect(refused).toContain('Nothing was changed');
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);

    await h.say(b, BOB_USER, `approve ${code}`, 'personal');
    const answer = await h.waitFor('the typed answer', () => personalChatTexts(BOB_USER).find((t) => t.startsWith('Disable AD account for')));
    expect(answer).toMatch(/^Disable AD account for .+: Approved by Alice Example, Bob Analyst — running$/);
    await held.gate.reached;
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    held.gate.open();
    const line = await h.waitFor('the result in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Disabled')));
    expect(line).toMatch(new RegExp(`^Disabled ${h.samba.domain}\\\\${p.sam} in AD — approved by Alice Example, Bob Analyst`));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
  });

  it('deny <ref> reason: recorded, card without buttons, the denial in the thread; a later click runs nothing', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2etdeny');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const revoke = cardButtons(h.currentCard(card)).find((x) => x.data.action === 'revoke-sessions')!;

    await h.say(b, BOB_USER, `deny ${refOf(card)} pen test by the red team`, 'personal');
    const answer = await h.waitFor('the typed answer', () => personalChatTexts(BOB_USER).find((t) => t.startsWith('Denied')));
    expect(answer).toMatch(/^Denied by Bob Analyst: pen test by the red team \(.*Revoke sessions for .*\)\.$/);
    const reply = await h.waitFor('the denial in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Denied')));
    expect(reply).toBe(answer);
    // No decision button is left; Take it stays until someone owns the alert, Close until it is closed (issue 15).
    await h.waitFor('the card without decision buttons', () => cardButtons(h.currentCard(card)).every((x) => x.verb === 'take' || x.verb === 'close'));
    expect(cardText(h.currentCard(card))).toContain('Denied by Bob Analyst: pen test by the red team');

    // A button pressed on a stale copy of the card finds the action denied.
    const late = await h.click(b, card, 'revoke-sessions', ALICE_USER, { data: revoke.data });
    expect(cardText(late.card)).toContain('Revoke sessions: Denied by Bob Analyst');
    await new Promise((r) => setTimeout(r, 300));
    expect(revokesOf(p.entra.id)).toBe(0);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
  });
});

describe('the Action.Submit fallback (a message whose value carries the verb)', () => {
  it('approve: the card is replaced in place with "running" before the action runs, the result lands in the thread; deny works the same way', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2esubmit');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);

    const held = holdRevoke(p.entra.id);
    const answer = await h.click(b, card, 'revoke-sessions', ALICE_USER, { via: 'submit' });
    expect(answer.status).toBe(200);
    expect(held.isOpen).toBe(false);
    // A Submit cannot be answered with a card: the card the button was on is replaced instead.
    await h.waitFor('the card showing "running"', () => cardText(h.currentCard(card)).includes('Revoke sessions: Approved by Alice Example — running'));
    await h.waitFor('the revoke in flight', () => h.graph.requests.some((r) => r.method === 'POST' && r.path.endsWith(`/users/${p.entra.id}/revokeSignInSessions`)));
    expect(revokesOf(p.entra.id)).toBe(0);
    expect(h.threadTexts(card)).toEqual([]);
    held.open();
    const done = await h.waitFor('the result in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Revoked')));
    expect(done).toContain('approved by Alice Example');
    expect(revokesOf(p.entra.id)).toBe(1);

    // Deny through Submit, with a comment: what is still open is denied, nothing more runs.
    const deny = cardButtons(h.currentCard(card)).find((x) => x.verb === 'deny')!;
    await h.click(b, card, 'deny', BOB_USER, { verb: 'deny', via: 'submit', data: { ...deny.data, comment: 'contained by hand' } });
    const denial = await h.waitFor('the denial in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Denied')));
    expect(denial).toContain('Denied by Bob Analyst: contained by hand');
    expect(denial).not.toContain('Revoke sessions');
    await h.waitFor('the card after the denial', () => cardText(h.currentCard(card)).includes('Denied by Bob Analyst: contained by hand'));
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect(revokesOf(p.entra.id)).toBe(1);
  });
});

describe('the audit, read back', () => {
  it('records request, approval, execution and result with actor, target and correlation id; history <who> shows them', async (ctx) => {
    requireSamba(ctx);
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'e2e-audit-')), 'bot.db')}`;
    const p = await h.person('e2eaudit');
    h.alert([p.entra]);
    const b = await bot({ DATABASE_URL: databaseUrl });
    const card = await h.waitForCard(b, p.sam);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    await h.waitFor('the result', () => h.threadTexts(card).find((t) => t.startsWith('Disabled')));

    const label = `${h.samba.domain}\\${p.sam}`;
    await h.say(b, ALICE_USER, `history ${label}`, 'personal');
    const history = await h.waitFor('the history', () => personalChatTexts(ALICE_USER).find((t) => t.startsWith('History for')));
    // Newest first: the run and its result by the bot, the approval and the request by Alice.
    const steps = history
      .split('\n\n')
      .map((l) => /^- .+? · ((?:approval|action)\.\S+)( Disable AD account)? · (\w+) by (\S+)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1], m[2] ? 'Disable AD account' : '', m[3], m[4]]);
    // Every line says which action it was about, the vote and the approval included.
    expect(steps).toEqual([
      ['action.executed', 'Disable AD account', 'success', 'system'],
      ['action.started', 'Disable AD account', 'info', 'system'],
      ['approval.approved', 'Disable AD account', 'success', ALICE_USER.aadObjectId],
      ['approval.vote', 'Disable AD account', 'info', ALICE_USER.aadObjectId],
      ['approval.requested', 'Disable AD account', 'info', ALICE_USER.aadObjectId],
    ]);

    // The same entries in the store, with target and correlation id (the bot stopped first).
    bots.splice(bots.indexOf(b), 1);
    await b.stop();
    for (const secret of h.secrets) expect(b.output()).not.toContain(secret);
    const { openStore } = await import('../../src/store/index.ts');
    const { captureLogger } = await import('../../sim/harness/log-capture.ts');
    const store = await openStore({ databaseUrl, logger: captureLogger('warn').logger });
    try {
      const entries = (await store.listAudit({ accountKey: `sid:${p.sid.toLowerCase()}`, limit: 50 })).filter((e) => e.approvalId).reverse();
      expect(entries.map((e) => [e.action, e.outcome, e.actor])).toEqual([
        ['approval.requested', 'info', ALICE_USER.aadObjectId],
        ['approval.vote', 'info', ALICE_USER.aadObjectId],
        ['approval.approved', 'success', ALICE_USER.aadObjectId],
        ['action.started', 'info', 'system'],
        ['action.executed', 'success', 'system'],
      ]);
      const correlationId = entries[0]!.correlationId!;
      expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
      for (const entry of entries) {
        expect(entry).toMatchObject({ target: label, accountKey: `sid:${p.sid.toLowerCase()}`, correlationId, approvalId: entries[0]!.approvalId, alertKey: expect.any(String) });
      }
      expect(entries[4]!.details).toMatchObject({ action: 'disable-ad-account', dryRun: false });
      expect(entries.map((e) => e.details?.action)).toEqual(entries.map(() => 'disable-ad-account'));
      // The same id ties the bot's log lines for this click to the audit.
      expect(b.output()).toContain(correlationId);
    } finally {
      await store.close();
    }
  });
});
