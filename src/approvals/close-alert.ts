import type { Actor } from '../domain/ports/chat.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { AlertClosure } from '../domain/ports/writeback-outbox.ts';
import { AppError } from '../domain/errors.ts';
import { closeOutcomeOf, CLOSE_OUTCOMES, type CloseOutcome } from '../domain/defender-outcomes.ts';
import { closedComment } from '../writeback/comments.ts';
import { approverIdOf, audit, writeBack, type ApprovalContext } from './approval-context.ts';
import { requireApprover } from './gate.ts';

/**
 * "Close" on the alert card: an approver (from the activity's identity; the same people who may
 * act on the alert) closes it with one of Defender's classification/determination pairs the form
 * offers, nothing else. The first close stands (one conditional insert): a replayed or second
 * close changes nothing and says who closed it. Audited; written back to Defender as status
 * `resolved` + classification + determination, with a comment on the alert and its incident.
 */
export interface CloseResult {
  closure: AlertClosure;
  outcome: CloseOutcome | undefined;
  /** False when the alert was already closed (this click changed nothing). */
  closedNow: boolean;
}

export async function closeAlert(ctx: ApprovalContext, record: AlertRecord, actor: Actor, choice: unknown, correlationId: string): Promise<CloseResult> {
  await requireApprover(ctx, actor, 'close alerts', { alertKey: record.key }, correlationId);
  const outcome = closeOutcomeOf(choice);
  if (!outcome) throw new AppError('INPUT_INVALID', `Pick one of the classifications the form offers (${CLOSE_OUTCOMES.length} choices); nothing was changed.`);
  const closure: AlertClosure = { alertKey: record.key, classification: outcome.classification, determination: outcome.determination, closedBy: approverIdOf(actor), closedByName: actor.name, closedAt: ctx.now() };
  const closedNow = await ctx.store.recordAlertClosure(closure);
  const stored = closedNow ? closure : ((await ctx.store.getAlertClosure(record.key)) ?? closure);
  const storedOutcome = CLOSE_OUTCOMES.find((o) => o.classification === stored.classification && o.determination === stored.determination);
  if (closedNow) {
    await audit(ctx, { actor: closure.closedBy, action: 'alert.closed', outcome: 'success', alertKey: record.key, correlationId, details: { name: actor.name, classification: outcome.classification, determination: outcome.determination } });
  }
  // Recorded again on a repeated close, for the stored closure: the job ids derive from the event, so
  // this adds nothing when it was recorded, and repairs a write-back lost to a crash right after the close.
  if (storedOutcome) {
    await writeBack(ctx, record.key, {
      eventId: `close:${record.key}`,
      comment: closedComment(storedOutcome, stored.closedByName, stored.closedAt),
      update: { status: 'resolved', classification: storedOutcome.classification, determination: storedOutcome.determination },
    });
  }
  return { closure: stored, outcome: storedOutcome, closedNow };
}

export function closedText(result: CloseResult): string {
  const what = result.outcome?.label ?? `${result.closure.classification}/${result.closure.determination}`;
  return result.closedNow ? `Closed by ${result.closure.closedByName}: ${what}.` : `Already closed by ${result.closure.closedByName} (${what}); nothing was changed.`;
}
