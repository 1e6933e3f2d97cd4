import { createEscalationContext, type EscalationDeps } from './escalation-context.ts';
import { runStep } from './run-step.ts';
import { scheduleNewAlerts } from './schedule.ts';
import { stopAndResolve, stopAnswered } from './stop.ts';
import { remindBeforeExpiry } from './expiry-reminder.ts';

export type { EscalationDeps } from './escalation-context.ts';

/**
 * Escalation of unanswered alerts (issue 15), assembled. The sweeper calls `sweep`:
 *
 *   schedule.ts ..... a schedule for each new unowned alert of an escalated severity (insert-if-absent)
 *   run-step.ts ..... due steps, each claimed by one instance: remind in the thread (@mentions),
 *                     page once (dedup key = alert key), resolve a page once the alert is answered
 *   stop.ts ......... taken, decided or resolved: stop, and resolve a page that went out
 *   expiry-reminder.ts  a pending approval about to expire: one reminder in the thread
 *
 * Every step is a conditional write on the alert's schedule row (store/sql-escalations.ts): a
 * restart or a second instance neither loses nor repeats a reminder or a page.
 */
export interface EscalationWorkflow {
  /** Schedules new alerts and runs every step that is due. */
  sweep(): Promise<void>;
  /** Someone took the alert (or a lead assigned it): stop escalating it, resolve its page. */
  stop(alertKey: string, reason: string): Promise<void>;
}

const CLAIM_BATCH = 20;
const MAX_ROUNDS = 50;

export function createEscalationWorkflow(deps: EscalationDeps): EscalationWorkflow {
  const ctx = createEscalationContext(deps);
  return {
    async sweep() {
      await scheduleNewAlerts(ctx);
      await stopAnswered(ctx);
      await remindBeforeExpiry(ctx);
      // Until nothing is due: a reminder whose page is already due (a sweep that came late) pages
      // in the same sweep; a failed step is due again only after its back-off, so this ends.
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const due = await ctx.store.claimDueEscalations(ctx.holder, ctx.now(), CLAIM_BATCH, ctx.claimStaleMs);
        for (const row of due) await runStep(ctx, row);
        if (due.length === 0) break;
      }
    },
    stop: (alertKey, reason) => stopAndResolve(ctx, alertKey, reason),
  };
}
