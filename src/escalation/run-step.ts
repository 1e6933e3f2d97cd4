import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { Escalation } from '../domain/ports/escalation-store.ts';
import type { Page } from '../domain/ports/pager.ts';
import { errorCode } from '../domain/errors.ts';
import type { Severity } from '../domain/alert.ts';
import { auditEscalation, refresh, type EscalationContext } from './escalation-context.ts';
import { reminderMessage } from './reminder.ts';
import { stopReasonOf, stopAndResolve } from './stop.ts';

/** Retry delay after a failed step: 30 s, doubling, at most 15 minutes. */
function retryDelayMs(attempts: number): number {
  return Math.min(15 * 60_000, 30_000 * 2 ** Math.min(attempts, 5));
}

function pageOf(record: AlertRecord): Page {
  return {
    dedupKey: record.key,
    summary: `${record.severity} MDI alert without owner: ${record.alert.title.replace(/\s+/g, ' ').trim().slice(0, 200)} (ref ${record.code})`,
    severity: record.severity,
    ...(record.alert.portalUrl ? { link: record.alert.portalUrl } : {}),
    details: { alertKey: record.key, reference: record.code, source: record.alert.source },
  };
}

/** The thread reply with the @mentions. */
async function remind(ctx: EscalationContext, record: AlertRecord, row: Escalation): Promise<void> {
  if (!record.card) throw new Error('the alert has no card to remind in');
  const channel = await ctx.deps.channelFor(record.card);
  if (!channel) throw new Error('the channel of the alert card is not known');
  const waited = (ctx.now().getTime() - record.card.postedAt.getTime()) / 60_000;
  const thread = { channel, conversationId: record.card.conversationId, threadConversationId: record.card.threadConversationId, rootActivityId: record.card.activityId };
  await ctx.deps.messenger.reply(thread, reminderMessage(record, ctx.policy.mention, waited));
  const rule = ctx.policy.bySeverity[record.severity as Severity];
  const page = rule?.pageAfterMinutes !== undefined && ctx.deps.pagers.length > 0;
  const now = ctx.now();
  const next = page ? { step: 'page' as const, dueAt: new Date(record.card.postedAt.getTime() + rule!.pageAfterMinutes! * 60_000) } : { step: 'done' as const, dueAt: now };
  await ctx.store.advanceEscalation(row.alertKey, ctx.holder, 'remind', { ...next, remindedAt: now });
  await auditEscalation(ctx, { action: 'alert.escalation.reminded', alertKey: record.key, outcome: 'success', details: { mentioned: ctx.policy.mention.map((m) => `${m.kind}:${m.name}`), next: next.step } });
}

/** One page per alert (dedup key = alert key) through every configured tool; failed tools are retried as a whole. */
async function page(ctx: EscalationContext, record: AlertRecord, row: Escalation): Promise<void> {
  if (ctx.deps.pagers.length === 0) {
    // Scheduled under a configuration that had an on-call tool; none now: nothing to page.
    ctx.log.warn({ alertKey: record.key }, 'a page was due but no on-call tool is configured any more');
    await ctx.store.advanceEscalation(row.alertKey, ctx.holder, 'page', { step: 'done', dueAt: ctx.now() });
    return;
  }
  const pagedVia: string[] = [];
  const failures: string[] = [];
  for (const pager of ctx.deps.pagers) {
    try {
      await pager.trigger(pageOf(record));
      pagedVia.push(pager.name);
    } catch (error) {
      failures.push(`${pager.name}: ${errorCode(error)}`);
      ctx.log.warn({ err: error, alertKey: record.key, pager: pager.name }, 'paging failed');
    }
  }
  if (pagedVia.length === 0) throw new Error(`no pager accepted the page (${failures.join(', ') || 'none configured'})`);
  const now = ctx.now();
  const advanced = await ctx.store.advanceEscalation(row.alertKey, ctx.holder, 'page', { step: 'done', dueAt: now, pagedAt: now, pagedVia });
  await auditEscalation(ctx, { action: 'alert.escalation.paged', alertKey: record.key, outcome: 'success', details: { pagedVia, dedupKey: record.key, ...(failures.length ? { failures } : {}) } });
  // Someone took or decided while the page was on its way: record it and resolve it at once.
  if (!advanced && (await ctx.store.notePageAfterStop(row.alertKey, pagedVia, now))) {
    const stopped = await ctx.store.getEscalation(row.alertKey);
    if (stopped) await resolvePage(ctx, stopped, ctx.holder);
  }
}

/** Closes the page at every tool that accepted it; the row is `done` once all did. */
export async function resolvePage(ctx: EscalationContext, row: Escalation, holder: string): Promise<void> {
  const pagers = ctx.deps.pagers.filter((pager) => row.pagedVia.includes(pager.name));
  const note = `Taken care of in Teams (${row.stopReason ?? 'stopped'}).`;
  for (const pager of pagers) await pager.resolve(row.alertKey, note);
  const now = ctx.now();
  await ctx.store.advanceEscalation(row.alertKey, holder, 'resolve', { step: 'done', dueAt: now, pageResolvedAt: now });
  await auditEscalation(ctx, { action: 'alert.escalation.page-resolved', alertKey: row.alertKey, outcome: 'success', details: { pagedVia: row.pagedVia, reason: row.stopReason ?? 'stopped' } });
}

/** Runs one claimed step; a failure puts it back, due again later. */
export async function runStep(ctx: EscalationContext, row: Escalation): Promise<void> {
  try {
    if (row.step === 'resolve') {
      await resolvePage(ctx, row, ctx.holder);
    } else {
      const record = await ctx.store.getAlertByKey(row.alertKey);
      const reason = record ? await stopReasonOf(ctx, record) : 'resolved';
      // Taken or decided meanwhile: no reminder, no page; a page already sent is resolved.
      if (reason || !record) {
        await stopAndResolve(ctx, row.alertKey, reason ?? 'resolved');
        return;
      }
      if (row.step === 'remind') await remind(ctx, record, row);
      else if (row.step === 'page') await page(ctx, record, row);
    }
    await refresh(ctx, row.alertKey);
  } catch (error) {
    ctx.log.warn({ err: error, alertKey: row.alertKey, step: row.step, attempts: row.attempts }, 'escalation step failed; retried later');
    await ctx.store.retryEscalation(row.alertKey, ctx.holder, row.step, new Date(ctx.now().getTime() + retryDelayMs(row.attempts)));
    await auditEscalation(ctx, { action: `alert.escalation.${row.step}-failed`, alertKey: row.alertKey, outcome: 'failure', code: errorCode(error) }).catch(() => {});
  }
}
