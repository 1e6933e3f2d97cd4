import { describe, expect, it, onTestFinished } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';
import { gate } from '../support/gate.ts';
import { ALICE, APPROVERS, BOB, JDOE_TARGET, MALLORY, TEMP_PASSWORD, approveClick, cardButtons, cardText, createHarness, identityTheftAlert, seedAlert, turnOf, harnessPerTest } from '../support/approval-harness.ts';

const setup = harnessPerTest();

describe('approval workflow (SQLite)', () => {
  it('an unauthorised clicker is told privately, audited, and nothing changes', async () => {
    const h = await setup();
    const outcome = await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(MALLORY));
    expect(outcome).toEqual({ kind: 'message', text: expect.stringContaining('not an approver') });
    await h.workflow.idle();
    expect(await h.store.listApprovalsForAlert('alert-1')).toEqual([]);
    expect(h.remediation.runs).toEqual([]);
    expect(h.messenger.updates).toEqual([]);
    const audit = await h.store.listAudit({ alertKey: 'alert-1', limit: 10 });
    expect(audit.map((a) => [a.action, a.outcome, a.actor])).toEqual([['approval.unauthorized', 'refused', MALLORY.aadObjectId]]);
  });

  it('an Action.Submit refusal is said privately, never posted as a channel message', async () => {
    const h = await setup();
    const turn = turnOf(MALLORY);
    const outcome = await h.workflow.onCardAction({ ...approveClick('disable-ad-account'), via: 'submit' }, turn);
    // A refused click writes no card at all (its data could name any card): answered privately only.
    expect(outcome.kind).toBe('answered');
    expect(turn.privateReplies.map((m) => m.text)).toEqual([expect.stringContaining('not an approver')]);
    expect(turn.replies).toEqual([]);
  });

  it('every approval-related audit entry names the action it was for (details.action)', async () => {
    const h = await setup();
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(MALLORY));
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    await h.workflow.idle();
    expect(await h.command(`deny ${h.record.code} contained`, turnOf(BOB))).toBe(true);
    await h.workflow.idle();
    const audit = (await h.store.listAudit({ alertKey: 'alert-1', limit: 50 })).reverse();
    const actionOf = (what: string) => audit.filter((a) => a.action === what).map((a) => a.details?.action);
    expect(actionOf('approval.unauthorized')).toEqual(['disable-ad-account']);
    expect(actionOf('approval.requested')[0]).toBe('disable-ad-account');
    expect(actionOf('approval.vote')).toEqual(['disable-ad-account']);
    expect(actionOf('approval.approved')).toEqual(['disable-ad-account']);
    expect(actionOf('action.started')).toEqual(['disable-ad-account']);
    expect(actionOf('action.executed')).toEqual(['disable-ad-account']);
    const denied = actionOf('approval.denied');
    expect(denied.length).toBeGreaterThan(0);
    expect(denied).not.toContain('disable-ad-account');
    for (const entry of audit.filter((a) => a.approvalId)) expect(typeof entry.details?.action).toBe('string');
  });

  it('an Action.Submit refusal on a lookup card (no card to restore) is said privately only, nothing left to post', async () => {
    const h = await setup();
    const turn = turnOf(MALLORY);
    const outcome = await h.workflow.onCardAction({ verb: 'approve', data: { action: 'disable-ad-account', target: JDOE_TARGET }, via: 'submit', cardActivityId: 'lookup1' }, turn);
    // `answered`: the turn logic sends nothing more (a Submit's message answer would be public).
    expect(outcome).toEqual({ kind: 'answered', text: expect.stringContaining('not an approver') });
    expect(turn.privateReplies.map((m) => m.text)).toEqual([expect.stringContaining('not an approver')]);
    expect(turn.replies).toEqual([]);
  });

  it('refuses an action or target the stored alert does not propose (card data is untrusted)', async () => {
    const h = await setup();
    const other = await h.workflow.onCardAction(approveClick('disable-ad-account', 'sid:s-1-5-21-9-9-9-500'), turnOf(ALICE));
    expect(other).toEqual({ kind: 'message', text: 'That action is not offered for this account on this alert.' });
    const undoFirst = await h.workflow.onCardAction(approveClick('enable-ad-account'), turnOf(ALICE));
    expect(undoFirst.kind).toBe('message');
    const junk = await h.workflow.onCardAction({ verb: 'approve', data: { action: 'rm -rf', target: 1 }, via: 'execute' }, turnOf(ALICE));
    expect(junk.kind).toBe('message');
    expect(h.remediation.runs).toEqual([]);
  });

  it('one approval runs the action once, answers "running" before it runs, then updates the card and replies in the thread', async () => {
    const h = await setup();
    // The action is held inside Remediation.run until the test opens the gate: the click can only
    // be answered now if the workflow does not wait for the action (if it did, this would hang).
    const held = gate();
    h.remediation.hold = held;
    onTestFinished(() => held.open());
    const outcome = await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    expect(held.isOpen).toBe(false);
    expect(outcome.kind).toBe('card');
    const card = outcome.kind === 'card' ? outcome.card : {};
    expect(cardText(card)).toContain('Approved by Alice — running');
    expect(cardButtons(card).some((b) => b.data.action === 'disable-ad-account')).toBe(false);
    // It does run, asynchronously: under way, no result yet, nothing said in the thread.
    await held.reached;
    expect(h.remediation.runs.map((r) => r.action)).toEqual(['disable-ad-account']);
    expect((await h.store.listApprovalsForAlert('alert-1'))[0]?.state).toBe('running');
    expect(h.messenger.replies).toEqual([]);

    held.open();
    await h.workflow.idle();
    expect(h.remediation.runs.map((r) => r.action)).toEqual(['disable-ad-account']);
    const reply = h.messenger.replies.at(-1)?.text ?? '';
    expect(reply).toMatch(/^Disabled CORP\\jdoe in AD — approved by Alice, 0\.\d s$/);
    const finalCard = h.messenger.updates.at(-1)?.message.card;
    expect(h.messenger.updates.at(-1)?.activityId).toBe('root-alert-1');
    expect(cardText(finalCard)).toContain('Disabled CORP\\jdoe in AD — approved by Alice');
    // Undo after success, where one exists.
    expect(cardButtons(finalCard).filter((b) => b.title.startsWith('Undo'))).toEqual([expect.objectContaining({ verb: 'approve', data: expect.objectContaining({ action: 'enable-ad-account' }) })]);
    const approval = (await h.store.listApprovalsForAlert('alert-1'))[0];
    expect(approval?.state).toBe('succeeded');
    const audit = (await h.store.listAudit({ approvalId: approval?.id, limit: 20 })).map((a) => a.action).reverse();
    expect(audit).toEqual(['approval.requested', 'approval.vote', 'approval.approved', 'action.started', 'action.executed']);

    // Double click and a late invoke retry see the current state and run nothing.
    const again = await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(BOB));
    await h.workflow.idle();
    expect(again.kind).toBe('card');
    expect(h.remediation.runs).toHaveLength(1);

    // The undo runs through the same path.
    await h.workflow.onCardAction(approveClick('enable-ad-account'), turnOf(BOB));
    await h.workflow.idle();
    expect(h.remediation.runs.map((r) => r.action)).toEqual(['disable-ad-account', 'enable-ad-account']);
  });

  it('four-eyes: reset-password needs two distinct people; the same person twice does not count; the password goes only to the approver privately', async () => {
    const h = await setup();
    const first = await h.workflow.onCardAction(approveClick('reset-password'), turnOf(ALICE));
    expect(cardText(first.kind === 'card' ? first.card : {})).toContain('1 of 2: Alice');
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(ALICE));
    await h.workflow.idle();
    expect(h.remediation.runs).toEqual([]);
    expect(await h.store.listApprovalVotes((await h.store.listPendingApprovals())[0]!.id)).toHaveLength(1);

    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(BOB));
    await h.workflow.idle();
    expect(h.remediation.runs.map((r) => r.action)).toEqual(['reset-password']);
    expect(h.privateMessages.map((m) => m.to)).toEqual([{ aadObjectId: BOB.aadObjectId, teamsId: BOB.id, name: 'Bob' }]);
    // The password is in the card, behind a reveal; the text and summary a notification shows never carry it.
    const delivered = h.privateMessages[0]!.message;
    expect(JSON.stringify(delivered.card)).toContain(TEMP_PASSWORD);
    expect(`${delivered.text} ${delivered.summary}`).not.toContain(TEMP_PASSWORD);
    const everywhere = JSON.stringify([h.messenger.replies, h.messenger.updates]) + h.log.text() + JSON.stringify(await h.store.listAudit({ alertKey: 'alert-1', limit: 100 }));
    expect(everywhere).not.toContain(TEMP_PASSWORD);
    expect(h.messenger.replies.at(-1)?.text).toMatch(/approved by (Alice, Bob|Bob, Alice)/);
    expect(h.messenger.replies.at(-1)?.text).toContain('sent privately to Bob');
  });

  it('TEMP_PASSWORD_DELIVERY=none shows the password to nobody', async () => {
    const h = await setup({ settings: { tempPasswordDelivery: 'none' } });
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(ALICE));
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(BOB));
    await h.workflow.idle();
    expect(h.privateMessages).toEqual([]);
    expect(h.messenger.replies.at(-1)?.text).toContain('not shown to anyone');
  });

  it('20 concurrent approves of one action execute it exactly once', async () => {
    const h = await setup();
    const outcomes = await Promise.all(APPROVERS.map((actor) => h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(actor))));
    await h.workflow.idle();
    expect(outcomes.every((o) => o.kind === 'card')).toBe(true);
    expect(h.remediation.runs).toHaveLength(1);
    expect(await h.store.listApprovalsForAlert('alert-1')).toHaveLength(1);
  });

  it('a failure shows the reason and a Retry button; Retry runs it again', async () => {
    const h = await setup();
    h.remediation.failNext = new AppError('DIRECTORY_RIGHTS', 'The bot account lacks the right to change CORP\\jdoe in AD.', { details: { ldapCode: 50 } });
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    await h.workflow.idle();
    expect(h.messenger.replies.at(-1)?.text).toContain('failed: The bot account lacks the right');
    const card = h.messenger.updates.at(-1)?.message.card;
    const retry = cardButtons(card).find((b) => b.verb === 'retry');
    expect(retry?.data).toMatchObject({ action: 'disable-ad-account', target: JDOE_TARGET });
    const failed = (await h.store.listApprovalsForAlert('alert-1'))[0];
    expect(failed).toMatchObject({ state: 'failed', errorCode: 'DIRECTORY_RIGHTS' });
    const audit = await h.store.listAudit({ approvalId: failed?.id, limit: 5 });
    expect(audit[0]).toMatchObject({ action: 'action.executed', outcome: 'failure', code: 'DIRECTORY_RIGHTS' });

    // Unauthorised retry changes nothing.
    await h.workflow.onCardAction({ verb: 'retry', data: retry!.data, via: 'execute' }, turnOf(MALLORY));
    expect(h.remediation.runs).toHaveLength(1);
    await h.workflow.onCardAction({ verb: 'retry', data: retry!.data, via: 'execute' }, turnOf(BOB));
    await h.workflow.idle();
    expect(h.remediation.runs).toHaveLength(2);
    expect((await h.store.listApprovalsForAlert('alert-1'))[0]?.state).toBe('succeeded');
  });

  it('deny records who and why, removes the buttons and replies in the thread', async () => {
    const h = await setup();
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(ALICE));
    const turn = turnOf(BOB);
    expect(await h.command(`deny ${h.record.code} false positive, travel`, turn)).toBe(true);
    await h.workflow.idle();
    expect(turn.replies.at(-1)?.text).toMatch(/^Denied by Bob: false positive, travel/);
    expect(h.messenger.replies.at(-1)?.text).toMatch(/^Denied by Bob: false positive, travel/);
    const card = h.messenger.updates.at(-1)?.message.card;
    // No decision is left to make; Take it stays until someone owns the alert, Close until it is closed (issue 15).
    expect(cardButtons(card).map((b) => b.verb).filter((verb) => verb !== 'take')).toEqual(['close']);
    const approvals = await h.store.listApprovalsForAlert('alert-1');
    expect(approvals.every((a) => a.state === 'denied')).toBe(true);
    // Nothing can approve a denied action afterwards.
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(BOB));
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(BOB));
    await h.workflow.idle();
    expect(h.remediation.runs).toEqual([]);
  });

  it('pending approvals expire after the TTL; the card says so and its buttons for it are gone', async () => {
    const h = await setup({ settings: { ttlMinutes: 60 } });
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(ALICE));
    h.clock.now = new Date(h.clock.now.getTime() + 61 * 60_000);
    expect(await h.workflow.sweepExpired()).toBe(1);
    const card = h.messenger.updates.at(-1)?.message.card;
    expect(cardText(card)).toContain('Expired: no decision within 60 min');
    expect(cardButtons(card).some((b) => b.data.action === 'reset-password')).toBe(false);
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(BOB));
    await h.workflow.idle();
    expect(h.remediation.runs).toEqual([]);
  });

  it('protected accounts need the stricter count; with protectedApprovals=refuse they are refused; service accounts always', async () => {
    let h = await setup({ settings: { protectedAccounts: ['jdoe'] } });
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    await h.workflow.idle();
    expect(h.remediation.runs).toEqual([]);
    expect((await h.store.listPendingApprovals())[0]?.requiredApprovals).toBe(2);
    await h.close();

    h = await setup({ settings: { protectedApprovals: 'refuse' } });
    h.remediation.inspection = { found: true, privileged: true, reasons: ['member of Domain Admins'] };
    const outcome = await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    await h.workflow.idle();
    expect(cardText(outcome.kind === 'card' ? outcome.card : {})).toContain('Refused: CORP\\jdoe is a protected account (member of Domain Admins)');
    expect(h.remediation.runs).toEqual([]);
    await h.close();

    h = await setup();
    await seedAlert(h.store, identityTheftAlert('alert-svc', 'svc-incidentbot', 'S-1-5-21-1111-2222-3333-1200'));
    const svc = await h.workflow.onCardAction(approveClick('disable-ad-account', 'sid:s-1-5-21-1111-2222-3333-1200', 'alert-svc'), turnOf(ALICE));
    await h.workflow.idle();
    expect(cardText(svc.kind === 'card' ? svc.card : {})).toContain("the bot's own service accounts");
    expect(h.remediation.runs).toEqual([]);
  });

  it('the hourly cap pauses execution until an approver types resume', async () => {
    const h = await setup({ settings: { maxActionsPerHour: 1 } });
    await seedAlert(h.store, identityTheftAlert('alert-2', 'asmith', 'S-1-5-21-1111-2222-3333-1105'));
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    await h.workflow.idle();
    const second = await h.workflow.onCardAction(approveClick('disable-ad-account', 'sid:s-1-5-21-1111-2222-3333-1105', 'alert-2'), turnOf(ALICE));
    await h.workflow.idle();
    expect(h.remediation.runs).toHaveLength(1);
    expect(cardText(second.kind === 'card' ? second.card : {})).toContain('execution is paused');
    expect(h.messenger.replies.some((r) => r.text?.startsWith('Execution paused: more than 1 destructive actions'))).toBe(true);

    const mallory = turnOf(MALLORY);
    await h.command('resume', mallory);
    expect(mallory.privateReplies[0]?.text).toContain('not an approver');
    const bob = turnOf(BOB);
    await h.command('resume', bob);
    await h.workflow.idle();
    expect(bob.replies[0]?.text).toContain('Execution resumed by Bob; 1 approved action(s) started.');
    expect(h.remediation.runs).toHaveLength(2);
  });

  it('DRY_RUN goes through every step, says so on every card, and passes dryRun to the port', async () => {
    const h = await setup({ settings: { dryRun: true } });
    const outcome = await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    expect(cardText(outcome.kind === 'card' ? outcome.card : {})).toContain('DRY RUN');
    await h.workflow.idle();
    expect(h.remediation.runs[0]?.dryRun).toBe(true);
    expect(cardText(h.messenger.updates.at(-1)?.message.card)).toContain('DRY RUN');
    expect(h.messenger.replies.at(-1)?.text).toMatch(/^DRY RUN \(nothing changed\): Disabled/);
  });

  it('an action left running by a crash is read back and reported, never re-run', async () => {
    const h = await setup();
    // A process that stops renewing its run lease (it died; here its store calls fail) while its run is in flight.
    const dead = new Proxy(h.store, {
      get(target, property) {
        if (property === 'renewLease') return async () => Promise.reject(new Error('process gone'));
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const dying = await createHarness({ store: dead, seed: false, settings: { runLeaseMs: 300 } });
    await seedAlert(h.store, identityTheftAlert('alert-3', 'kcrash', 'S-1-5-21-1111-2222-3333-1106'));
    const target = 'sid:s-1-5-21-1111-2222-3333-1106';
    dying.remediation.delayMs = 1_500; // the "crashed" run is still in flight while the new process reconciles
    await dying.workflow.onCardAction(approveClick('disable-ad-account', target, 'alert-3'), turnOf(ALICE));
    const running = (await h.store.listApprovalsInState('running'))[0]!;
    expect(running).toBeDefined();
    // A fresh process (new workflow) on the same store, once the dead run's lease has lapsed.
    const later = await createHarness({ store: h.store, seed: false, settings: { runLeaseMs: 300 } });
    later.remediation.applied = 'not-applied';
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await later.workflow.reconcile()).toBe(1);
    expect(later.remediation.runs).toEqual([]);
    expect((await h.store.getApproval(running.id))?.state).toBe('failed');
    expect(later.messenger.replies.at(-1)?.text).toContain('interrupted by a bot restart and is NOT in place');
    expect(cardButtons(later.messenger.updates.at(-1)?.message.card).some((b) => b.verb === 'retry')).toBe(true);
    // The "crashed" run finishing late cannot overwrite the settled state.
    await dying.workflow.idle();
    expect((await h.store.getApproval(running.id))?.state).toBe('failed');
  });

  it('typed approve by alert code asks which action when several are offered, then approves', async () => {
    const h = await setup();
    const turn = turnOf(ALICE);
    await h.command(`approve ${h.record.code.toLowerCase()}`, turn);
    expect(turn.replies[0]?.text).toContain('Which one?');
    await h.command(`approve ${h.record.code} disable-ad-account`, turn);
    await h.workflow.idle();
    expect(turn.replies[1]?.text).toContain('Disable AD account for CORP\\jdoe: Approved by Alice — running');
    expect(h.remediation.runs).toHaveLength(1);
    // Other words are not approval commands: the one command path says it does not know them.
    await h.command('hello', turn);
    expect(turn.replies[2]?.text).toContain("I don't know");
  });
});
