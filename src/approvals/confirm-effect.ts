import { setTimeout as sleep } from 'node:timers/promises';
import type { ActionName } from '../actions/action-names.ts';
import { actionLabel, seconds } from '../cards/approval-lines.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import type { ActionResult, AppliedState } from '../domain/remediation.ts';
import { actionLog, auditApproval, background, type ApprovalContext } from './approval-context.ts';
import { replyFor, updateCardOf } from './announce.ts';
import { parseActionTarget, targetLabel } from './approval-target.ts';

/**
 * An executor that only accepted the request (Defender for Identity acts later, through its own
 * action accounts) has not done anything yet: the thread said "requested". This reads the effect
 * back until it shows ("confirmed") or the confirmation time runs out ("requested, not yet
 * confirmed"): an effect nobody saw is never reported as done. Both outcomes are audited with the
 * executor and its correlation id. Such executors write no password (MDI's forcePasswordReset
 * only sets "must change"), which the read-back is told.
 */
export function confirmEffect(ctx: ApprovalContext, approval: Approval, result: ActionResult, startedAt: Date, correlationId: string): void {
  const requested = result.requested;
  if (!requested) return;
  const action = approval.action as ActionName;
  const target = parseActionTarget(approval.target);
  const alog = actionLog(ctx, approval, correlationId);
  const timeoutMs = ctx.confirmTimeoutMs;
  const pollMs = Math.min(10_000, Math.max(250, Math.floor(timeoutMs / 20)));
  const what = `${actionLabel(action)} for ${targetLabel(target)}`;
  const reference = requested.correlationId ? `correlation id ${requested.correlationId}` : 'no correlation id';
  const facts = { executor: result.details.executor ?? requested.by, ...(requested.correlationId ? { executorCorrelationId: requested.correlationId } : {}) };

  background(ctx, 'confirm-effect', async () => {
    const began = performance.now();
    let state: AppliedState = 'unknown';
    while (!ctx.closing.signal.aborted) {
      state = await ctx.deps.remediation.readBack(action, target, { log: alog, since: startedAt, noPasswordWritten: true, signal: AbortSignal.any([AbortSignal.timeout(ctx.inspectTimeoutMs), ctx.closing.signal]) }).catch((error: unknown) => {
        alog.warn({ err: error }, 'read-back of a requested action failed; trying again');
        return 'unknown' as const;
      });
      if (state === 'applied' || performance.now() - began >= timeoutMs) break;
      await sleep(pollMs, undefined, { signal: ctx.closing.signal }).catch(() => undefined);
    }
    if (ctx.closing.signal.aborted && state !== 'applied') {
      // Stopping: the effect is not reported either way; the audit keeps "requested" with its correlation id.
      alog.info(facts, 'stopping before the requested action was confirmed');
      return;
    }
    const waited = seconds(performance.now() - began);
    if (state === 'applied') {
      await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'action.confirmed', outcome: 'success', details: facts });
      alog.info(facts, 'requested action confirmed');
      const line = `Confirmed: ${what} is in effect (${requested.by}, ${reference}, seen after ${waited}).`;
      await updateCardOf(ctx, approval, line);
      await replyFor(ctx, approval, line);
      return;
    }
    await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'action.unconfirmed', outcome: 'info', details: { ...facts, state, waitedMs: timeoutMs } });
    alog.warn({ ...facts, state }, 'requested action not confirmed in time');
    const line = `${what}: requested in ${requested.by} (${reference}), not yet confirmed after ${waited}. Check the Action center in Defender before asking again.`;
    await updateCardOf(ctx, approval, line);
    await replyFor(ctx, approval, line);
  });
}
