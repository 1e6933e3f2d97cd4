import { describe, expect, it } from 'vitest';
import { ALICE_USER, BOB_USER } from './servers/bot-activity.ts';
import { cardButtons, cardText, MALLORY_USER, type BotHarness } from './support/bot-harness.ts';
import { useBotE2e } from './support/bot-e2e-hooks.ts';
import { requireSamba } from './support/samba.ts';

/**
 * Issue 4 end to end: the real bot (startIncidentBot) driven through /api/messages with
 * Teams-shaped invokes, acting on the real Samba AD DC and the local Graph / Okta stand-ins,
 * every effect read back from the directory or server, every reply read from the connector.
 */

let h: BotHarness;
const { bot } = useBotE2e((harness) => (h = harness));

const UAC_DISABLED = 0x2;

describe('AD actions through Teams invokes', () => {
  it('disable-ad-account: answered fast with "running", disabled in Samba, card updated, result threaded; enable undoes it', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2edis');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    expect(cardButtons(card.record.activity?.attachments).some((x) => x.data.action === 'disable-ad-account')).toBe(true);

    const answer = await h.click(b, card, 'disable-ad-account', ALICE_USER);
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeLessThan(1000);
    expect(cardText(answer.card)).toMatch(/Disable AD account: Approved by Alice Example — (running|starting)/);

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

/** The 1:1 chats the bot opened with `user` and the texts it sent in them. */
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

    const texts = await h.waitFor('the private message', () => privateTextsTo(BOB_USER).find((t) => t.includes('Temporary password')));
    const password = /Temporary password for .*?: (\S+)/.exec(texts)?.[1] ?? '';
    expect(password.length).toBeGreaterThanOrEqual(12);
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
    const { addUser } = await import('./servers/tenant.ts');
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
    const { findOktaUser } = await import('./servers/tenant.ts');
    const p = await h.person('e2eokta', { okta: true });
    const q = await h.person('e2eokta4', { okta: true });
    h.alert([p.entra]);
    h.alert([q.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const user = findOktaUser(h.demo.tenant, p.upn)!;
    await h.click(b, card, 'suspend-okta', ALICE_USER);
    await h.waitFor('suspended', () => user.status === 'SUSPENDED');
    expect(user.sessionCount).toBe(0);
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
    const { READ_ONLY_CLIENT_ID } = await import('./support/bot-harness.ts');
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
