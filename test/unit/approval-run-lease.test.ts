import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';
import type { ActionResult } from '../../src/domain/remediation.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { gate } from '../support/gate.ts';
import { ALICE, BOB, JDOE_TARGET, MALLORY, approveClick, cardText, createHarness, identityTheftAlert, seedAlert, turnOf, type Harness } from '../support/approval-harness.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';

/**
 * The review's findings on the approval workflow: a run's lease is its own (not its process's),
 * a lost lease stops the run and its writes; `approve <code>` works for lookup-card approvals;
 * approver ids compare case-insensitively; thread replies never turn names or reasons into links.
 */
const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0).reverse()) await h.close();
});

async function setup(options: Parameters<typeof createHarness>[0] = {}): Promise<Harness> {
  const h = await createHarness(options);
  harnesses.push(h);
  return h;
}

/** A real SQLite store behind a Proxy whose `spy` may hold or watch single calls. */
async function spiedStore(spy: Partial<Record<keyof Store, (real: Store, args: unknown[]) => Promise<unknown>>>): Promise<{ store: Store; real: Store }> {
  const real = await openStore({ databaseUrl: `sqlite:${join(mkdtempSync(join(tmpdir(), 'approvals-lease-')), 'bot.db')}`, logger: captureLogger().logger });
  onTestFinished(() => real.close());
  const store = new Proxy(real, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const override = spy[property as keyof Store];
      if (override) return (...args: unknown[]) => override(target, args);
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return { store, real };
}

describe('run lease: one run per approval', () => {
  it('two local starts of one approved action (resume and the sweeper) run it once, and another instance never settles it mid-run', async () => {
    // The first `approved → running` write waits at a door: the second local start comes meanwhile.
    const firstStart = gate();
    let held = false;
    const { store, real } = await spiedStore({
      async transitionApproval(target, args) {
        const [, from, to] = args as [string, string, string];
        if (from === 'approved' && to === 'running' && !held) {
          held = true;
          await firstStart.pass();
        }
        return (target.transitionApproval as (...a: unknown[]) => Promise<boolean>).apply(target, args);
      },
    });
    const h = await setup({ store });
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(ALICE));
    const [pending] = await real.listPendingApprovals();
    // As if the process died between the deciding vote and the start: approved, nothing running.
    expect(await real.transitionApproval(pending!.id, 'pending', 'approved', { decidedBy: 'Alice, Bob' }, h.clock.now)).toBe(true);
    const run = gate();
    h.remediation.hold = run;
    onTestFinished(() => run.open());

    const resumed = h.workflow.resume(turnOf(BOB));
    await firstStart.reached;
    await h.workflow.reconcile({ staleAfterMs: 0 }); // the sweeper, same process, same approval
    firstStart.open();
    await resumed;
    await run.reached;
    expect(h.remediation.runs).toHaveLength(1);

    // Another bot instance sweeping now sees a live lease: the run is not "interrupted".
    const other = await setup({ store: real, seed: false });
    other.remediation.applied = 'not-applied';
    expect(await other.workflow.reconcile({ staleAfterMs: 0 })).toBe(0);
    expect((await real.getApproval(pending!.id))?.state).toBe('running');

    run.open();
    await h.workflow.idle();
    expect(h.remediation.runs).toHaveLength(1);
    expect((await real.getApproval(pending!.id))?.state).toBe('succeeded');
    expect(other.messenger.replies).toEqual([]);
  });

  it('a run whose lease renewal FAILS stops before its next side effect and writes nothing; another instance settles it by read-back, never runs it again', async () => {
    // The runner's store stops answering renewals (the connection broke): it can no longer prove it
    // is alive, so it must stop; before, a failed renewal was only logged and the run went on while
    // another instance settled it as "NOT in place, press Retry" (then run twice).
    let renewalsFail = false;
    const { store, real } = await spiedStore({
      async renewLease(target, args) {
        if (renewalsFail) throw new AppError('STORE_UNAVAILABLE', 'The database did not answer.');
        return (target.renewLease as (...a: unknown[]) => Promise<boolean>).apply(target, args);
      },
    });
    // Renewal every 250 ms.
    const h = await setup({ store, settings: { runLeaseMs: 750 } });
    const started = gate();
    const release = gate();
    onTestFinished(() => release.open());
    let signal: AbortSignal | undefined;
    let aborted!: () => void;
    const abortSeen = new Promise<void>((resolve) => (aborted = resolve));
    h.remediation.run = async (action, target, options): Promise<ActionResult> => {
      h.remediation.runs.push({ action, target, dryRun: options.dryRun });
      signal = options.signal;
      signal?.addEventListener('abort', () => aborted());
      void started.pass();
      await Promise.race([abortSeen, release.opened]);
      if (signal?.aborted) throw new AppError('TIMEOUT', 'The directory did not answer in time.');
      return { summary: 'Disabled CORP\\jdoe in AD', details: {} };
    };
    await h.workflow.onCardAction(approveClick('disable-ad-account'), turnOf(ALICE));
    await started.reached;
    const [running] = await real.listApprovalsInState('running');

    renewalsFail = true;
    await abortSeen;
    expect(signal?.aborted).toBe(true);
    await h.workflow.idle();
    // The stale runner neither settled the row nor told the thread its own story.
    expect((await real.getApproval(running!.id))?.state).toBe('running');
    expect(h.messenger.replies.map((r) => r.text)).toEqual([]);

    // Another instance (same database clock) takes the lapsed lease, waits out the stale window, reads back.
    const other = await setup({ store: real, seed: false, settings: { runLeaseMs: 750 } });
    other.remediation.applied = 'not-applied';
    expect(await other.workflow.reconcile()).toBe(1);
    expect(other.messenger.replies.at(-1)?.text).toContain('is NOT in place');
    expect(other.remediation.runs).toEqual([]);
    expect(h.remediation.runs).toHaveLength(1);
    expect(await real.getApproval(running!.id)).toMatchObject({ state: 'failed', errorCode: 'INTERRUPTED' });
    const audit = (await real.listAudit({ approvalId: running!.id, limit: 20 })).map((a) => a.action);
    expect(audit).toContain('action.lease-lost');
  });
});

describe('typed approve <code>', () => {
  it('votes on a lookup-card approval (no alert) from any chat: the second approver completes it', async () => {
    const h = await setup({ resolvePerson: async () => identityTheftAlert().accounts[0] });
    const alice = turnOf(ALICE);
    alice.conversation = { id: 'a:1alice-personal', kind: 'personal' };
    // The lookup card the bot posted in Alice's chat, as the command handler records it.
    await h.workflow.offerLookupActions({ conversationId: 'a:1alice-personal', activityId: 'lookup-1', targetKey: JDOE_TARGET, actions: ['reset-password'], offeredTo: ALICE.aadObjectId! });
    const first = await h.workflow.onCardAction({ verb: 'approve', data: { action: 'reset-password', target: JDOE_TARGET }, via: 'execute', cardActivityId: 'lookup-1' }, alice);
    // The lookup card is refreshed with the state, as an alert card is.
    expect(cardText(first.kind === 'card' ? first.card : {})).toContain('1 of 2: Alice');
    const [pending] = await h.store.listPendingApprovals();
    expect(pending?.alertKey).toBeUndefined();
    expect(cardText(first.kind === 'card' ? first.card : {})).toContain(`approve ${pending!.code}`);

    const mallory = turnOf(MALLORY);
    await h.command(`approve ${pending!.code}`, mallory);
    expect(mallory.privateReplies.map((m) => m.text)).toEqual([expect.stringContaining('not an approver')]);

    // Bob is in the SOC channel, not in Alice's personal chat: he types the code the status line gave.
    const bob = turnOf(BOB);
    await h.command(`approve ${pending!.code.toLowerCase()}`, bob);
    await h.workflow.idle();
    expect(bob.privateReplies).toEqual([]);
    expect(bob.replies[0]?.text).toMatch(/^Reset AD password for CORP\\jdoe: Approved by (Alice, Bob|Bob, Alice)/);
    expect(h.remediation.runs.map((r) => r.action)).toEqual(['reset-password']);
    expect((await h.store.getApproval(pending!.id))?.state).toBe('succeeded');
  });

  it('approver ids compare case-insensitively: the same person in another spelling is one vote', async () => {
    const h = await setup();
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf(ALICE));
    await h.workflow.onCardAction(approveClick('reset-password'), turnOf({ ...ALICE, aadObjectId: ALICE.aadObjectId!.toUpperCase() }));
    await h.workflow.idle();
    const [pending] = await h.store.listPendingApprovals();
    expect(await h.store.listApprovalVotes(pending!.id)).toEqual([expect.objectContaining({ approverId: ALICE.aadObjectId })]);
    expect(h.remediation.runs).toEqual([]);
  });
});

describe('thread replies escape what people and alerts wrote', () => {
  const EVIL = '[x](https://evil.example)';

  it('a display name, a failure message and a deny reason never become links in the thread', async () => {
    const h = await setup();
    const alert = identityTheftAlert('alert-evil');
    alert.accounts = [{ displayName: EVIL, sid: 'S-1-5-21-1111-2222-3333-1999', roles: ['compromised'] }];
    const record = await seedAlert(h.store, alert);
    h.remediation.failNext = new AppError('DIRECTORY_RIGHTS', `The bot account lacks the right to change ${EVIL}.`);
    await h.workflow.onCardAction(approveClick('disable-ad-account', 'sid:s-1-5-21-1111-2222-3333-1999', 'alert-evil'), turnOf(ALICE));
    await h.workflow.idle();
    const failure = h.messenger.replies.at(-1)?.text ?? '';
    expect(failure).toContain('failed: The bot account lacks the right');
    expect(failure).toContain('\\[x\\](https://evil.example)');
    expect(failure).not.toContain(EVIL);

    const bob = turnOf(BOB);
    await h.command(`deny ${record.code} see ${EVIL}`, bob);
    await h.workflow.idle();
    const denied = h.messenger.replies.at(-1)?.text ?? '';
    expect(denied).toMatch(/^Denied by Bob: see \\\[x\\\]\(https:\/\/evil\.example\)/);
    expect(denied).not.toContain(EVIL);
    expect(bob.replies.at(-1)?.text).not.toContain(EVIL);
  });
});
