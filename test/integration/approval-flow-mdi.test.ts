import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ALICE_USER, BOB_USER } from '../../sim/teams/bot-activity.ts';
import { mdiIdentityOf } from '../../sim/graph/identity-accounts-routes.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { openStore } from '../../src/store/index.ts';
import { cardButtons, cardText, writePolicy, type BotHarness, type CardRef, type SyncedPerson, type TestBot } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { requireSamba } from '../support/samba.ts';
import { createTestDatabase, probePostgres } from '../support/postgres.ts';

/**
 * Issue 14 end to end: Defender for Identity's own response actions as the executor, through
 * /api/messages. The Graph stand-in's identityAccounts accepts invokeAction and applies it after a
 * delay (for AD through MDI's "action account" on the real Samba DC); the thread says "requested"
 * at once and "confirmed" only once the bot has read the effect back.
 */

let h: BotHarness;
const { bots, bot } = useBotE2e((harness) => (h = harness));
const UAC_DISABLED = 0x2;
const SIX = ['disable-ad-account', 'reset-password', 'revoke-sessions', 'mark-compromised', 'require-sign-in-again', 'suspend-okta'];

function policy(actions = SIX): string {
  return writePolicy({ version: 1, approvals: { default: 1 }, rules: [], default: { actions } });
}

/** A synced person (in AD, Entra, and Okta if asked) with one MDI alert naming their account. */
async function alertedPerson(prefix: string, options?: { okta?: boolean }): Promise<SyncedPerson> {
  const p = await h.person(prefix, options);
  h.alert([p.entra]);
  return p;
}

const invocationsOf = (p: SyncedPerson) => h.graph.mdi.invocations.filter((i) => i.identityId === mdiIdentityOf(p.entra).id);
const requestedLine = (card: CardRef, label: string) => h.threadTexts(card).findIndex((t) => t.startsWith(label) && t.includes('requested in Defender (correlation id '));
const confirmedLine = (card: CardRef, label: string) => h.threadTexts(card).findIndex((t) => t.startsWith(`Confirmed: ${label}`));

/**
 * MDI slowed to 4 s, one alerted person, and a first bot on `env` that asks MDI to disable them and
 * is stopped once "requested" shows, before the effect: what a restart must pick up.
 */
async function disableRequestedThenStopped(prefix: string, env: Record<string, string>): Promise<{ p: SyncedPerson; card: CardRef; first: TestBot }> {
  h.graph.mdi.delayMs = 4_000;
  onTestFinished(() => void (h.graph.mdi.delayMs = 1_000));
  const p = await alertedPerson(prefix);
  const first = await bot(env);
  const card = await h.waitForCard(first, p.sam);
  await h.click(first, card, 'disable-ad-account', ALICE_USER);
  await h.waitFor('"requested"', () => requestedLine(card, 'Disable') >= 0);
  bots.splice(bots.indexOf(first), 1);
  await first.stop();
  return { p, card, first };
}

/** Presses `action` (by `voters`), then waits for "requested" and "confirmed" in that order. */
async function runConfirmed(b: TestBot, card: CardRef, action: string, buttonLabel: string, requestedPrefix: string, voters = [ALICE_USER]): Promise<void> {
  for (const voter of voters) expect((await h.click(b, card, action, voter)).status).toBe(200);
  const requested = await h.waitFor(`"requested" for ${action}`, () => requestedLine(card, requestedPrefix) >= 0 && requestedLine(card, requestedPrefix));
  const confirmed = await h.waitFor(`"confirmed" for ${action}`, () => confirmedLine(card, buttonLabel) >= 0 && confirmedLine(card, buttonLabel), 20_000);
  expect(confirmed).toBeGreaterThan(requested);
}

async function auditOf(databaseUrl: string, p: SyncedPerson) {
  const store = await openStore({ databaseUrl, logger: captureLogger('warn').logger });
  try {
    return (await store.listAudit({ accountKey: `sid:${p.sid.toLowerCase()}`, limit: 100 })).reverse();
  } finally {
    await store.close();
  }
}

describe('ACTION_EXECUTOR=mdi through Teams invokes', () => {
  it('disable, enable, force password reset, revoke sessions, mark compromised, require sign-in again, suspend in Okta: one invokeAction each, "requested" then "confirmed"', async (ctx) => {
    requireSamba(ctx);
    h.graph.mdi.delayMs = 600;
    const p = await alertedPerson('mdiall', { okta: true });
    const b = await bot({ ACTION_EXECUTOR: 'mdi', MDI_CONFIRM_TIMEOUT_SECONDS: '20', ACTION_POLICY_FILE: policy() });
    const card = await h.waitForCard(b, p.sam);
    expect(cardButtons(h.currentCard(card)).filter((x) => x.verb === 'approve').map((x) => x.data.action).sort()).toEqual([...SIX].sort());
    const who = `${h.samba.domain}\\${p.sam}`;
    // Before anyone decides, the card says how they run, and that MDI's reset delivers no password.
    const before = cardText(h.currentCard(card));
    expect(before).toContain('Via Defender for Identity (asynchronous: confirmed once the change shows).');
    expect(before).toMatch(/Via Defender for Identity: sets .must change password at next logon.; no temporary password is set or delivered\./);

    await runConfirmed(b, card, 'disable-ad-account', 'Disable AD account', `Disable ${who} in AD`);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    expect(cardText(h.currentCard(card))).toContain('via Defender for Identity');

    // The undo, offered once the disable succeeded, runs through MDI too.
    await h.waitFor('the undo button', () => cardButtons(h.currentCard(card)).some((x) => x.data.action === 'enable-ad-account'));
    await runConfirmed(b, card, 'enable-ad-account', 'Enable AD account', `Enable ${who} in AD`, [BOB_USER]);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);

    // Reset through MDI: must-change set (pwdLastSet=0), nobody gets a password.
    expect((await h.readAd(p.dn)).pwdLastSet).not.toBe('0');
    await runConfirmed(b, card, 'reset-password', 'Reset AD password', `Force a password reset of ${who} in AD`, [ALICE_USER, BOB_USER]);
    expect((await h.readAd(p.dn)).pwdLastSet).toBe('0');
    expect(h.threadTexts(card).join('\n')).toContain('no temporary password is set or delivered');
    expect(h.privateMessages().flatMap((chat) => chat.texts).join('\n')).not.toMatch(/password is ready|Reveal password/i);

    const sessionsBefore = p.entra.signInSessionsValidFromDateTime;
    await runConfirmed(b, card, 'revoke-sessions', 'Revoke sessions', `Revoke all sessions of ${who} in Entra ID`);
    expect(p.entra.signInSessionsValidFromDateTime).not.toBe(sessionsBefore);
    await runConfirmed(b, card, 'mark-compromised', 'Mark compromised', `Mark ${who} as compromised in Entra ID`);
    expect(p.entra.riskState).toBe('confirmedCompromised');
    await runConfirmed(b, card, 'require-sign-in-again', 'Require sign-in again', `Require ${who} to sign in again in Entra ID`);
    await runConfirmed(b, card, 'suspend-okta', 'Suspend in Okta', `Disable ${who} in Okta`);

    const okta = [...h.demo.tenant.oktaUsers.values()].find((u) => u.profile.login === p.upn);
    expect(okta?.status).toBe('SUSPENDED');
    expect(invocationsOf(p).map((i) => [i.action, i.identityProvider, i.accountId])).toEqual([
      ['disable', 'activeDirectory', p.entra.onPremisesObjectGuid],
      ['enable', 'activeDirectory', p.entra.onPremisesObjectGuid],
      ['forcePasswordReset', 'activeDirectory', p.entra.onPremisesObjectGuid],
      ['revokeAllSessions', 'entraID', p.entra.id],
      ['markUserAsCompromised', 'entraID', p.entra.id],
      ['requireUserToSignInAgain', 'entraID', p.entra.id],
      ['disable', 'okta', okta?.id],
    ]);
    // Nothing ran directly: the Graph stand-in saw no direct containment call for this user.
    expect(h.graph.actions.filter((a) => a.target === p.entra.id)).toEqual([]);
  });

  it('an effect that never shows is reported as requested, not yet confirmed (never as done), and audited so', async (ctx) => {
    requireSamba(ctx);
    h.graph.mdi.stuck = true;
    onTestFinished(() => void (h.graph.mdi.stuck = false));
    const p = await alertedPerson('mdistuck');
    const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'mdi-audit-')), 'bot.db')}`;
    const b = await bot({ DATABASE_URL: databaseUrl, ACTION_EXECUTOR: 'mdi', MDI_CONFIRM_TIMEOUT_SECONDS: '2', ACTION_POLICY_FILE: policy(['disable-ad-account']) });
    const card = await h.waitForCard(b, p.sam);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    const line = await h.waitFor('"not yet confirmed"', () => h.threadTexts(card).find((t) => t.includes('not yet confirmed')), 15_000);
    expect(line).toMatch(/^Disable AD account for .*: requested in Defender for Identity \(correlation id [0-9a-f-]{36}\), not yet confirmed after \d/);
    expect(h.threadTexts(card).some((t) => t.startsWith('Confirmed'))).toBe(false);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect(invocationsOf(p)).toHaveLength(1);
    const audit = await auditOf(databaseUrl, p);
    const executed = audit.find((e) => e.action === 'action.executed');
    const correlationId = invocationsOf(p)[0]?.correlationId;
    expect(executed?.details).toMatchObject({ details: { executor: 'mdi', correlationId } });
    expect(audit.find((e) => e.action === 'action.unconfirmed')?.details).toMatchObject({ executor: 'mdi', executorCorrelationId: correlationId });
    expect(audit.some((e) => e.action === 'action.confirmed')).toBe(false);
  });

  it('an action the account does not list in MDI gets no button, and a hand-made request for it is refused and sends nothing', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('mdinot');
    mdiIdentityOf(p.entra).withheld.add('activeDirectory:forcePasswordReset');
    h.alert([p.entra]);
    const b = await bot({ ACTION_EXECUTOR: 'mdi', ACTION_POLICY_FILE: policy(['disable-ad-account', 'reset-password']) });
    const card = await h.waitForCard(b, p.sam);
    const actions = cardButtons(h.currentCard(card)).filter((x) => x.verb === 'approve').map((x) => x.data.action);
    expect(actions).toEqual(['disable-ad-account']);
    const disable = cardButtons(h.currentCard(card)).find((x) => x.data.action === 'disable-ad-account');
    for (const voter of [ALICE_USER, BOB_USER]) {
      const answer = await h.click(b, card, 'reset-password', voter, { data: { ...disable?.data, action: 'reset-password' } });
      expect(answer.status).toBe(200);
      expect(cardText(answer.card) + (answer.text ?? '')).toMatch(/Defender for Identity does not offer to force a password reset/);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(invocationsOf(p)).toEqual([]);
    expect((await h.readAd(p.dn)).pwdLastSet).not.toBe('0');
  });
});

describe('a restart while Defender has not acted yet', () => {
  it('the next start waits for the requested effect again and confirms it in the same thread; MDI was asked once', async (ctx) => {
    requireSamba(ctx);
    const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'mdi-restart-')), 'bot.db')}`;
    const env = { DATABASE_URL: databaseUrl, ACTION_EXECUTOR: 'mdi', MDI_CONFIRM_TIMEOUT_SECONDS: '30', ACTION_POLICY_FILE: policy(['disable-ad-account']) };
    const { p, card, first } = await disableRequestedThenStopped('mdirestart', env);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);

    const second = await bot({ ...env, TEAMS_CHANNEL_ID: first.channelId });
    await h.waitFor('"confirmed" after the restart', () => confirmedLine(card, 'Disable AD account') >= 0, 20_000);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    expect(invocationsOf(p)).toHaveLength(1);
    expect(h.threadTexts(card).filter((t) => t.startsWith('Confirmed'))).toHaveLength(1);
    expect(cardText(h.currentCard(card))).toContain('confirmed in effect');
    expect(second.channelId).toBe(first.channelId);
  });
});

describe.skipIf(!(await probePostgres()).available)('two instances on PostgreSQL after a restart', () => {
  it('exactly one of them waits for the requested effect and says "confirmed" once', async (ctx) => {
    requireSamba(ctx);
    const database = await createTestDatabase();
    onTestFinished(() => database.drop());
    const env = { DATABASE_URL: database.url, ACTION_EXECUTOR: 'mdi', MDI_CONFIRM_TIMEOUT_SECONDS: '30', ACTION_POLICY_FILE: policy(['disable-ad-account']) };
    const { p, card, first } = await disableRequestedThenStopped('mdipg', env);

    await Promise.all([bot({ ...env, TEAMS_CHANNEL_ID: first.channelId }), bot({ ...env, TEAMS_CHANNEL_ID: first.channelId })]);
    await h.waitFor('"confirmed" after the restart', () => confirmedLine(card, 'Disable AD account') >= 0, 20_000);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(h.threadTexts(card).filter((t) => t.startsWith('Confirmed'))).toHaveLength(1);
    expect((await auditOf(database.url, p)).filter((e) => e.action === 'action.confirmed')).toHaveLength(1);
    expect(invocationsOf(p)).toHaveLength(1);
  });
});

describe('DRY_RUN with ACTION_EXECUTOR=mdi', () => {
  it('resolves the account in MDI, checks the action is listed, says so, and sends nothing to Defender', async (ctx) => {
    requireSamba(ctx);
    const p = await alertedPerson('mdidry');
    const b = await bot({ DRY_RUN: 'true', ACTION_EXECUTOR: 'mdi', MDI_CONFIRM_TIMEOUT_SECONDS: '2', ACTION_POLICY_FILE: policy(['disable-ad-account']) });
    const card = await h.waitForCard(b, p.sam);
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    const line = await h.waitFor('the dry-run result', () => h.threadTexts(card).find((t) => t.startsWith('DRY RUN')));
    expect(line).toMatch(/^DRY RUN \(nothing changed\): would ask Defender for Identity to disable .* in AD/);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(invocationsOf(p)).toEqual([]);
    expect(h.threadTexts(card).some((t) => /confirmed/.test(t))).toBe(false);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
  });
});

describe('ACTION_EXECUTOR=auto', () => {
  it('an account MDI lists the action for goes through MDI, one it does not know through LDAP; the audit records the executor and the correlation id', async (ctx) => {
    requireSamba(ctx);
    h.graph.mdi.delayMs = 300;
    const listed = await h.person('mdiauto');
    const unknown = await h.person('mdiunk');
    mdiIdentityOf(unknown.entra).unobserved = true;
    h.alert([listed.entra]);
    h.alert([unknown.entra]);
    const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'mdi-auto-')), 'bot.db')}`;
    const b = await bot({ DATABASE_URL: databaseUrl, ACTION_EXECUTOR: 'auto', MDI_CONFIRM_TIMEOUT_SECONDS: '15', ACTION_POLICY_FILE: policy(['disable-ad-account']) });
    const viaMdi = await h.waitForCard(b, listed.sam);
    const direct = await h.waitForCard(b, unknown.sam);

    await runConfirmed(b, viaMdi, 'disable-ad-account', 'Disable AD account', `Disable ${h.samba.domain}\\${listed.sam} in AD`);
    await h.click(b, direct, 'disable-ad-account', ALICE_USER);
    await h.waitFor('the direct result', () => h.threadTexts(direct).find((t) => t.startsWith('Disabled')));
    expect((await h.readAd(unknown.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    expect(invocationsOf(listed)).toHaveLength(1);
    expect(invocationsOf(unknown)).toEqual([]);
    expect(h.threadTexts(direct).some((t) => t.includes('requested in Defender'))).toBe(false);

    const mdiAudit = (await auditOf(databaseUrl, listed)).find((e) => e.action === 'action.executed');
    expect(mdiAudit?.details).toMatchObject({ details: { executor: 'mdi', correlationId: invocationsOf(listed)[0]?.correlationId } });
    const directAudit = (await auditOf(databaseUrl, unknown)).find((e) => e.action === 'action.executed');
    expect(directAudit?.details).toMatchObject({ details: { executor: 'ldap' } });
    expect((directAudit?.details as { details?: Record<string, unknown> }).details?.correlationId).toBeUndefined();
  });
});

describe('a deployment with no LDAP_* and no OKTA_*', () => {
  it('starts, offers the AD and Okta actions through MDI (four eyes: AD privilege is unknown without LDAP), and the disable works end to end (confirmed from MDI\'s own account data)', async (ctx) => {
    requireSamba(ctx);
    h.graph.mdi.delayMs = 300;
    const p = await alertedPerson('mdinoldap', { okta: true });
    const none = Object.fromEntries(['LDAP_URL', 'LDAP_BIND_DN', 'LDAP_BIND_PASSWORD', 'LDAP_BASE_DN', 'LDAP_CA_FILE', 'LDAP_NETBIOS_DOMAIN', 'LDAP_TIMEOUT_MS', 'OKTA_ORG_URL', 'OKTA_CLIENT_ID', 'OKTA_PRIVATE_KEY_PATH', 'OKTA_KEY_ID'].map((k) => [k, '']));
    const b = await bot({ ...none, ACTION_EXECUTOR: 'mdi', MDI_CONFIRM_TIMEOUT_SECONDS: '15', ACTION_POLICY_FILE: policy(['disable-ad-account', 'suspend-okta']) });
    const card = await h.waitForCard(b, p.sam);
    expect(cardButtons(h.currentCard(card)).filter((x) => x.verb === 'approve').map((x) => x.data.action)).toEqual(['disable-ad-account', 'suspend-okta']);
    // Without LDAP nobody can tell whether the person is privileged in AD: never taken for "not
    // privileged", so four eyes (PROTECTED_ACCOUNT_APPROVALS, 2 by default).
    const first = await h.click(b, card, 'disable-ad-account', ALICE_USER);
    expect(cardText(first.card)).toContain('Disable AD account: Awaiting approval 1 of 2: Alice Example');
    expect(invocationsOf(p)).toEqual([]);
    await runConfirmed(b, card, 'disable-ad-account', 'Disable AD account', `Disable ${h.samba.domain}\\${p.sam} in AD`, [BOB_USER]);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    await runConfirmed(b, card, 'suspend-okta', 'Suspend in Okta', `Disable ${h.samba.domain}\\${p.sam} in Okta`, [ALICE_USER, BOB_USER]);
    expect(invocationsOf(p).map((i) => [i.action, i.identityProvider])).toEqual([['disable', 'activeDirectory'], ['disable', 'okta']]);
    expect(bots).toHaveLength(1);
  });
});
