import { setTimeout as sleep } from 'node:timers/promises';
import type { ActionName } from '../actions/action-names.ts';
import { actionLabel, seconds } from '../cards/approval-lines.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import type { ActionResult, AppliedState } from '../domain/remediation.ts';
import { actionLog, auditApproval, background, leaseToken, type ApprovalContext } from './approval-context.ts';
import { replyFor, updateCardOf } from './announce.ts';
import { parseActionTarget, targetLabel } from './approval-target.ts';

/**
 * An executor that only accepted the request (Defender for Identity acts later, through its own
 * action accounts) has not done anything yet: the thread said "requested". This reads the effect
 * back until it shows ("confirmed") or the confirmation time, counted from the run, runs out
 * ("requested, not yet confirmed"): an effect nobody saw is never reported as done. Both outcomes
 * are audited with the executor and its correlation id, and written on the approval's result.
 *
 * What is awaited is stored on the approval (`result.awaiting`), so a restart or another instance
 * picks the wait up again (reconcile.ts); a store lease makes one instance wait at a time. Such
 * executors write no password (MDI's forcePasswordReset only sets "must change"): the read-back
 * is told.
 */
export interface AwaitedEffect {
  by: string;
  correlationId?: string;
  /** ISO time the run started: the confirmation time counts from it. */
  since: string;
  executor?: string;
}

/** What the stored result of a run says to await, for `result.requested` of a real (not dry) run. */
export function awaitedOf(result: ActionResult, startedAt: Date): AwaitedEffect | undefined {
  if (!result.requested) return undefined;
  const executor = typeof result.details.executor === 'string' ? result.details.executor : undefined;
  return { by: result.requested.by, since: startedAt.toISOString(), ...(result.requested.correlationId ? { correlationId: result.requested.correlationId } : {}), ...(executor ? { executor } : {}) };
}

/** The effect a succeeded approval still waits for, if any. */
export function awaitingOf(approval: Approval): AwaitedEffect | undefined {
  if (approval.state !== 'succeeded') return undefined;
  const awaiting = approval.result?.awaiting as Partial<AwaitedEffect> | undefined;
  if (!awaiting || typeof awaiting.by !== 'string' || typeof awaiting.since !== 'string' || Number.isNaN(Date.parse(awaiting.since))) return undefined;
  return awaiting as AwaitedEffect;
}

export function confirmLease(id: string): string {
  return `approval-confirm:${id}`;
}

export function confirmEffect(ctx: ApprovalContext, approval: Approval, correlationId: string): void {
  const awaited = awaitingOf(approval);
  if (!awaited || ctx.confirmingHere.has(approval.id)) return;
  ctx.confirmingHere.add(approval.id);
  background(ctx, 'confirm-effect', async () => {
    try {
      await confirm(ctx, approval, awaited, correlationId);
    } finally {
      ctx.confirmingHere.delete(approval.id);
    }
  });
}

async function confirm(ctx: ApprovalContext, approval: Approval, awaited: AwaitedEffect, correlationId: string): Promise<void> {
  const action = approval.action as ActionName;
  const target = parseActionTarget(approval.target);
  const alog = actionLog(ctx, approval, correlationId);
  const since = new Date(awaited.since);
  const remainingMs = Math.max(0, since.getTime() + ctx.confirmTimeoutMs - ctx.now().getTime());
  const token = leaseToken(ctx, 'confirm');
  // Held for the whole wait: another instance takes the wait over only after this one died.
  if (!(await ctx.store.tryAcquireLease(confirmLease(approval.id), token, remainingMs + 60_000))) return;
  const pollMs = Math.min(10_000, Math.max(250, Math.floor(ctx.confirmTimeoutMs / 20)));
  const facts = { executor: awaited.executor ?? awaited.by, ...(awaited.correlationId ? { executorCorrelationId: awaited.correlationId } : {}) };
  const began = performance.now();
  let state: AppliedState = 'unknown';
  try {
    while (!ctx.closing.signal.aborted) {
      const signal = AbortSignal.any([AbortSignal.timeout(ctx.inspectTimeoutMs), ctx.closing.signal]);
      state = await ctx.deps.remediation.readBack(action, target, { log: alog, since, noPasswordWritten: true, signal }).catch((error: unknown) => {
        alog.warn({ err: error }, 'read-back of a requested action failed; trying again');
        return 'unknown' as const;
      });
      if (state === 'applied' || performance.now() - began >= remainingMs) break;
      await sleep(pollMs, undefined, { signal: ctx.closing.signal }).catch(() => undefined);
    }
    if (ctx.closing.signal.aborted && state !== 'applied') {
      // Stopping: the wait is stored on the approval; the next instance to reconcile picks it up.
      alog.info(facts, 'stopping before the requested action was confirmed; left for the next start');
      return;
    }
    await settle(ctx, approval, awaited, state === 'applied', facts, correlationId, seconds(ctx.now().getTime() - since.getTime()));
  } finally {
    await ctx.store.releaseLease(confirmLease(approval.id), token).catch(() => undefined);
  }
}

async function settle(ctx: ApprovalContext, approval: Approval, awaited: AwaitedEffect, confirmed: boolean, facts: Record<string, unknown>, correlationId: string, after: string): Promise<void> {
  const target = parseActionTarget(approval.target);
  const what = `${actionLabel(approval.action)} for ${targetLabel(target)}`;
  const reference = awaited.correlationId ? `correlation id ${awaited.correlationId}` : 'no correlation id';
  const current = (await ctx.store.getApproval(approval.id)) ?? approval;
  if (!awaitingOf(current)) return; // settled meanwhile (another instance)
  const { awaiting: _done, ...rest } = current.result ?? {};
  const summary = typeof rest.summary === 'string' ? rest.summary : what;
  const result = { ...rest, confirmation: confirmed ? 'confirmed' : 'unconfirmed', summary: `${summary}; ${confirmed ? 'confirmed in effect' : 'not yet confirmed'}` };
  // The same state, a new result: a conditional write on "still awaiting" would need its own column; the lease makes this instance the only writer.
  if (!(await ctx.store.transitionApproval(approval.id, 'succeeded', 'succeeded', { result, ...(current.finishedAt ? { finishedAt: current.finishedAt } : {}) }))) return;
  await auditApproval(ctx, approval, correlationId, { actor: 'system', action: confirmed ? 'action.confirmed' : 'action.unconfirmed', outcome: confirmed ? 'success' : 'info', details: facts });
  const line = confirmed
    ? `Confirmed: ${what} is in effect (${awaited.by}, ${reference}, seen ${after} after the request).`
    : `${what}: requested in ${awaited.by} (${reference}), not yet confirmed after ${after}. Check the Action center in Defender before asking again.`;
  if (confirmed) actionLog(ctx, approval, correlationId).info(facts, 'requested action confirmed');
  else actionLog(ctx, approval, correlationId).warn(facts, 'requested action not confirmed in time');
  const settled = (await ctx.store.getApproval(approval.id)) ?? current;
  await updateCardOf(ctx, settled, line);
  await replyFor(ctx, settled, line);
}
