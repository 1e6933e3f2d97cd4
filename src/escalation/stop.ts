import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { ApprovalState } from '../domain/ports/approval-store.ts';
import { auditEscalation, refresh, type EscalationContext } from './escalation-context.ts';
import { resolvePage } from './run-step.ts';

/** Approval states that mean someone decided (an approval, a run, a denial, a refusal). */
const DECIDED: ReadonlySet<ApprovalState> = new Set(['approved', 'running', 'succeeded', 'failed', 'denied', 'refused']);

/** Why the alert no longer needs escalating, if it does not: taken, decided or resolved. */
export async function stopReasonOf(ctx: EscalationContext, record: AlertRecord): Promise<string | undefined> {
  if (record.owner) return 'taken';
  if (record.alert.status === 'resolved' || record.status === 'resolved') return 'resolved';
  const approvals = await ctx.store.listApprovalsForAlert(record.key);
  return approvals.some((approval) => DECIDED.has(approval.state)) ? 'decided' : undefined;
}

/**
 * Ends an alert's escalation: nothing more is reminded or paged, and a page that went out is
 * resolved now (PagerDuty `resolve`, Opsgenie close). A resolve that fails stays due, claimed by
 * this instance; the sweeper retries it once the claim is stale. Safe to call twice.
 */
export async function stopAndResolve(ctx: EscalationContext, alertKey: string, reason: string): Promise<void> {
  const stopped = await ctx.store.stopEscalation(alertKey, reason, ctx.holder, ctx.now());
  if (!stopped) return;
  await auditEscalation(ctx, { action: 'alert.escalation.stopped', alertKey, outcome: 'info', details: { reason, step: stopped.step, paged: stopped.pagedAt !== undefined } });
  if (stopped.step === 'resolve') {
    try {
      await resolvePage(ctx, stopped, ctx.holder);
    } catch (error) {
      ctx.log.warn({ err: error, alertKey }, 'resolving the page failed; the sweeper retries it');
      await ctx.store.retryEscalation(alertKey, ctx.holder, 'resolve', ctx.now());
    }
  }
  await refresh(ctx, alertKey);
}

/** Pages still open whose alert someone has taken or decided since (a decision does not call stop itself). */
export async function stopAnswered(ctx: EscalationContext): Promise<void> {
  for (const row of await ctx.store.listOpenPages(50)) {
    const record = await ctx.store.getAlertByKey(row.alertKey);
    const reason = record ? await stopReasonOf(ctx, record) : 'resolved';
    if (reason) await stopAndResolve(ctx, row.alertKey, reason);
  }
}
