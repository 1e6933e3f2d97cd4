import { randomUUID } from 'node:crypto';
import { actionLabel } from '../cards/approval-lines.ts';
import type { ChatTurn } from '../domain/ports/chat.ts';
import { approverIdOf, audit, chatSafe, type ApprovalContext } from './approval-context.ts';
import { parseActionTarget, targetLabel } from './approval-target.ts';
import { lastVoterOf } from './cast-vote.ts';
import { sweepExpired } from './expire.ts';
import { isExpired, requireApprover } from './gate.ts';
import { start } from './run-action.ts';

/**
 * `resume`: an approver lifts the hourly-cap pause. What was approved and is still within its
 * expiry is started (each through the gate again); what expired while it waited is not, and the
 * answer lists both, so nobody is surprised by an old action starting.
 */
export async function resume(ctx: ApprovalContext, turn: ChatTurn): Promise<string> {
  const correlationId = randomUUID();
  await requireApprover(ctx, turn.actor, 'lift the execution pause', {}, correlationId);
  const wasPaused = await ctx.cap.resume(approverIdOf(turn.actor), ctx.now());
  await audit(ctx, { actor: approverIdOf(turn.actor), action: 'execution.resumed', outcome: 'info', correlationId, details: { name: turn.actor.name, wasPaused } });
  const waiting = await ctx.store.listApprovalsInState('approved');
  const fresh = waiting.filter((approval) => !isExpired(ctx, approval));
  const expired = await sweepExpired(ctx, correlationId);
  for (const approval of fresh) await start(ctx, approval.id, await lastVoterOf(ctx, approval), correlationId);
  if (!wasPaused) return 'Execution was not paused.';
  const listed = fresh.map((a) => `- ${actionLabel(a.action)} for ${targetLabel(parseActionTarget(a.target))} (${a.code})`);
  const lines = [`Execution resumed by ${turn.actor.name}; ${fresh.length} approved action(s) started.`, ...listed];
  if (expired > 0) lines.push(`${expired} approval(s) had expired while waiting and were not started.`);
  return chatSafe(lines.join('\n'));
}
