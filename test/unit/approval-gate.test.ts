import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';
import { isApprovalCodeShape } from '../../src/store/reference-code.ts';
import { ALICE, APPROVERS, BOB, JDOE_TARGET, MALLORY, TEMP_PASSWORD, approveClick, createHarness, turnOf, harnessPerTest, type Harness } from '../support/approval-harness.ts';

/**
 * The gate, attacked at the use-case level (fake Remediation/Messenger ports, real store): each test
 * is an attack that the old approval workflow let through. The same attacks run end to end against
 * Samba and the local Graph in test/approval-e2e-attacks*.test.ts.
 */
const setup = harnessPerTest();

const CAROL = APPROVERS[3]!;

async function failFirstReset(h: Harness): Promise<Record<string, unknown>> {
  h.remediation.failNext = new AppError('DIRECTORY_UNAVAILABLE', 'The directory did not answer.');
  await h.workflow.onCardAction(approveClick('reset-password'), turnOf(CAROL));
  await h.workflow.onCardAction(approveClick('reset-password'), turnOf(ALICE));
  await h.workflow.idle();
  const [failed] = await h.store.listApprovalsForAlert('alert-1');
  expect(failed).toMatchObject({ state: 'failed', round: 1 });
  h.privateMessages.length = 0;
  return approveClick('reset-password').data;
}

describe('retry opens a new round', () => {
  it('one approver retrying a failed two-approver reset runs nothing until a second distinct approver votes in the new round', async () => {
    const h = await setup();
    const data = await failFirstReset(h);
    await h.workflow.onCardAction({ verb: 'retry', data, via: 'execute' }, turnOf(ALICE));
    await h.workflow.idle();
    expect(h.remediation.runs).toHaveLength(1); // only the failed first run
    const [reopened] = await h.store.listApprovalsForAlert('alert-1');
    expect(reopened).toMatchObject({ state: 'pending', round: 2, requiredApprovals: 2 });
    expect((await h.store.listApprovalVotes(reopened!.id)).map((v) => v.approverName)).toEqual(['Alice']);
    // The same person again adds nothing; Bob completes the round.
    await h.workflow.onCardAction({ verb: 'retry', data, via: 'execute' }, turnOf(ALICE));
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(BOB));
    await h.workflow.idle();
    expect(h.remediation.runs).toHaveLength(2);
    // The password goes to Bob, who completed the round that ran it; never to Carol (first round only).
    expect(h.privateMessages.map((m) => m.to.name)).toEqual(['Bob']);
    expect(JSON.stringify(h.privateMessages)).toContain(TEMP_PASSWORD);
  });

  it('a retry on an account that became privileged is held to the privileged policy (and refused with protectedApprovals=refuse)', async () => {
    const h = await setup({ settings: { protectedApprovals: 3 } });
    h.remediation.failNext = new AppError('DIRECTORY_UNAVAILABLE', 'The directory did not answer.');
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    await h.workflow.idle();
    h.remediation.inspection = { found: true, privileged: true, reasons: ['member of Domain Admins'] };
    await h.workflow.onCardAction({ verb: 'retry', data: approveClick('disable-ad-account').data, via: 'execute' }, turnOf(ALICE));
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(BOB));
    await h.workflow.idle();
    expect(h.remediation.runs).toHaveLength(1);
    expect((await h.store.listApprovalsForAlert('alert-1'))[0]).toMatchObject({ state: 'pending', requiredApprovals: 3 });

    const strict = await createHarness({ store: h.store, seed: false, settings: { protectedApprovals: 'refuse' } });
    strict.remediation.inspection = h.remediation.inspection;
    await h.store.transitionApproval((await h.store.listApprovalsForAlert('alert-1'))[0]!.id, 'pending', 'failed', { errorCode: 'DIRECTORY_UNAVAILABLE' });
    const refused = await strict.workflow.onCardAction({ verb: 'retry', data: approveClick('disable-ad-account').data, via: 'execute' }, turnOf(ALICE));
    expect(refused).toEqual({ kind: 'message', text: expect.stringContaining('protected account') });
    expect(strict.remediation.runs).toEqual([]);
    await strict.close();
  });

  it('an approval that became privileged between the last vote and the run goes back to pending for the stricter count', async () => {
    const h = await setup({ settings: { maxActionsPerHour: 1 } });
    await h.workflow.onCardAction(approveClick('revoke-sessions'), turnOf(ALICE)); // takes the hour's one slot
    await h.workflow.idle();
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE)); // approved, held by the cap
    await h.workflow.idle();
    h.remediation.inspection = { found: true, privileged: true, reasons: ['adminCount=1'] };
    await h.command('resume', turnOf(BOB));
    await h.workflow.idle();
    expect(h.remediation.runs.map((r) => r.action)).toEqual(['revoke-sessions']);
    const disable = (await h.store.listApprovalsForAlert('alert-1')).find((a) => a.action === 'disable-ad-account');
    expect(disable).toMatchObject({ state: 'pending', requiredApprovals: 2 });
  });
});

describe('only what the bot offered', () => {
  const lookupClick = (action: string, cardActivityId = 'lookup-card-1') => ({ verb: 'approve', data: { action, target: JDOE_TARGET }, via: 'execute' as const, cardActivityId });
  const resolvePerson = async () => ({ samAccountName: 'jdoe', domain: 'CORP', sid: 'S-1-5-21-1111-2222-3333-1104', userPrincipalName: 'jdoe@corp.example.com', entraObjectId: '11111111-2222-4333-8444-555555555555', roles: [] });

  it('hand-made lookup-card data asking for an undo (enable-ad-account, dismiss-risk) or an action the card did not offer is refused and runs nothing', async () => {
    const h = await setup({ resolvePerson });
    const alice = turnOf(ALICE);
    await h.workflow.offerLookupActions({ conversationId: alice.conversation.id, activityId: 'lookup-card-1', targetKey: JDOE_TARGET, actions: ['disable-ad-account', 'enable-ad-account'], offeredTo: ALICE.aadObjectId! });
    for (const action of ['enable-ad-account', 'dismiss-risk', 'unsuspend-okta', 'revoke-sessions']) {
      const outcome = await h.workflow.onCardAction(lookupClick(action), alice);
      expect(outcome).toEqual({ kind: 'message', text: expect.stringContaining('not offered on this card') });
    }
    // A card the bot never posted (or another person's key on a real one) is refused the same way.
    expect(await h.workflow.onCardAction(lookupClick('disable-ad-account', 'not-a-lookup-card'), alice)).toEqual({ kind: 'message', text: expect.stringContaining('not offered') });
    await h.workflow.idle();
    expect(h.remediation.runs).toEqual([]);
    expect(await h.store.listPendingApprovals()).toEqual([]);
  });

  it('an approver cannot act on their own account (the target found is their Entra identity)', async () => {
    const h = await setup();
    h.remediation.inspection = { found: true, privileged: false, reasons: [], identities: [{ system: 'entra', entraObjectId: ALICE.aadObjectId!.toUpperCase() }] };
    const outcome = await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    expect(outcome).toEqual({ kind: 'message', text: expect.stringContaining('your own account') });
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(BOB));
    await h.workflow.idle();
    expect(h.remediation.runs).toHaveLength(1); // another approver may
  });

  it("a refused Action.Submit whose data names another alert's card updates no message", async () => {
    const h = await setup();
    const tampered = { verb: 'approve', data: { action: 'disable-ad-account', target: JDOE_TARGET, alertKey: 'alert-1' }, via: 'submit' as const, cardActivityId: 'some-other-card' };
    const outcome = await h.workflow.onCardAction(tampered, turnOf(MALLORY));
    await h.workflow.idle();
    expect(outcome.kind).toBe('answered');
    expect(h.messenger.updates).toEqual([]);
  });
});

describe('expiry, codes, wording', () => {
  it('an approved action held by the hourly cap past its expiry is not started by resume', async () => {
    const h = await setup({ settings: { maxActionsPerHour: 1, ttlMinutes: 5 } });
    await h.workflow.onCardAction(approveClick('revoke-sessions'), turnOf(ALICE));
    await h.workflow.idle();
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    await h.workflow.idle();
    expect((await h.store.listApprovalsInState('approved')).map((a) => a.action)).toEqual(['disable-ad-account']);
    h.clock.now = new Date(h.clock.now.getTime() + 6 * 60_000);
    const bob = turnOf(BOB);
    await h.command('resume', bob);
    await h.workflow.idle();
    expect(h.remediation.runs.map((r) => r.action)).toEqual(['revoke-sessions']);
    expect(bob.replies[0]?.text).toContain('1 approval(s) had expired while waiting and were not started');
    expect((await h.store.listApprovalsForAlert('alert-1')).find((a) => a.action === 'disable-ad-account')?.state).toBe('expired');
  });

  it('approval codes and alert codes never collide: a typed code names exactly one thing', async () => {
    const h = await setup();
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(ALICE));
    const [pending] = await h.store.listPendingApprovals();
    expect(isApprovalCodeShape(pending!.code)).toBe(true);
    expect(isApprovalCodeShape(h.record.code)).toBe(false);
    expect(await h.store.getAlertByCode(pending!.code)).toBeUndefined();
  });

  it('a dry-run result says "dry run" once in the thread', async () => {
    const h = await setup({ settings: { dryRun: true } });
    h.remediation.run = async (action, target, options) => {
      h.remediation.runs.push({ action, target, dryRun: options.dryRun });
      return { summary: 'DRY RUN: would disable CORP\\jdoe in AD', details: {} };
    };
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    await h.workflow.idle();
    const line = h.messenger.replies.at(-1)?.text ?? '';
    expect(line.match(/dry[\s-]?run/gi)).toHaveLength(1);
    expect(line).toMatch(/^DRY RUN \(nothing changed\): would disable/);
  });
});
