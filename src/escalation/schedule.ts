import { escalatedSeverities } from '../domain/escalation-policy.ts';
import type { Severity } from '../domain/alert.ts';
import type { EscalationContext } from './escalation-context.ts';

const BATCH = 100;

/**
 * Gives every posted, unowned, open alert of an escalated severity its schedule: the first step
 * (remind, or page when the policy only pages) due that many minutes after its card was posted.
 * Insert-if-absent, so several instances scheduling at once create one row.
 */
export async function scheduleNewAlerts(ctx: EscalationContext): Promise<number> {
  const severities = escalatedSeverities(ctx.policy);
  if (severities.length === 0) return 0;
  const since = new Date(ctx.now().getTime() - ctx.lookbackMs);
  let scheduled = 0;
  for (const candidate of await ctx.store.listAlertsToSchedule(severities, since, BATCH)) {
    const rule = ctx.policy.bySeverity[candidate.severity as Severity];
    if (!rule) continue;
    const remind = rule.remindAfterMinutes !== undefined;
    const minutes = (remind ? rule.remindAfterMinutes : rule.pageAfterMinutes) ?? 0;
    const dueAt = new Date(candidate.postedAt.getTime() + minutes * 60_000);
    if (await ctx.store.scheduleEscalation(candidate.alertKey, remind ? 'remind' : 'page', dueAt)) scheduled += 1;
  }
  return scheduled;
}
