import { randomUUID } from 'node:crypto';
import type { ActionName } from '../actions/action-names.ts';
import type { ProposedAction } from '../actions/propose-actions.ts';
import { actionLabel, stateLine } from '../cards/approval-lines.ts';
import type { ChatTurn } from '../domain/ports/chat.ts';
import { AppError } from '../domain/errors.ts';
import { isApprovalCodeShape } from '../store/reference-code.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import { chatSafe, type ApprovalContext } from './approval-context.ts';
import { parseActionTarget, targetLabel } from './approval-target.ts';
import { announce, isPaused } from './announce.ts';
import { approveOnAlert } from './approve.ts';
import { castVote } from './cast-vote.ts';
import { deniedText, denyAlert, denyApproval, writeBackDenied } from './deny.ts';
import { requireApprover, requireNotOwnAccount } from './gate.ts';
import { proposalsOf } from './offers.ts';

/**
 * Typed decisions: `approve <code> [n|action]`, `deny <code> [reason]`. A code is either an
 * approval's (7 characters) or an alert's reference (6): the two never collide, so a code names
 * exactly one thing. The vote goes through the same gate as a click.
 */
async function resolve(ctx: ApprovalContext, code: string): Promise<{ approval: Approval } | { record: AlertRecord }> {
  if (isApprovalCodeShape(code)) {
    const approval = await ctx.store.getApprovalByCode(code);
    if (approval) return { approval };
  } else {
    const record = await ctx.store.getAlertByCode(code);
    if (record) return { record };
  }
  throw new AppError('NOT_FOUND', 'That code is not known to the bot (no alert or approval has it); `pending` lists the open ones.');
}

async function describe(ctx: ApprovalContext, approval: Approval): Promise<string> {
  const votes = await ctx.store.listApprovalVotes(approval.id, approval.round);
  return `${actionLabel(approval.action)} for ${targetLabel(parseActionTarget(approval.target))}: ${stateLine(approval, votes, { paused: await isPaused(ctx), ttlMinutes: ctx.settings.ttlMinutes })}`;
}

function pick(proposals: readonly ProposedAction[], choice: string | undefined): ProposedAction | undefined {
  if (!choice) return proposals.length === 1 ? proposals[0] : undefined;
  const index = Number(choice);
  if (Number.isInteger(index) && index >= 1 && index <= proposals.length) return proposals[index - 1];
  const byName = proposals.filter((p) => p.action === choice.trim().toLowerCase());
  return byName.length === 1 ? byName[0] : undefined;
}

export async function approveByCode(ctx: ApprovalContext, code: string, choice: string | undefined, turn: ChatTurn): Promise<string> {
  const correlationId = randomUUID();
  const found = await resolve(ctx, code);
  let approval: Approval;
  if ('approval' in found) {
    const { approval: byCode } = found;
    await requireApprover(ctx, turn.actor, 'approve actions', { ...(byCode.alertKey ? { alertKey: byCode.alertKey } : {}), approvalId: byCode.id }, correlationId, byCode.action);
    approval = await castVote(ctx, byCode, turn.actor, correlationId);
  } else {
    const { record } = found;
    const open = proposalsOf(ctx, record);
    const picked = pick(open, choice);
    if (!picked) {
      const options = open.map((p, i) => `${i + 1}. ${actionLabel(p.action)} for ${p.targetLabel}: approve ${record.code} ${i + 1}`);
      return chatSafe(open.length === 0 ? 'No actions are offered on that alert.' : `Which one?\n\n${options.join('\n\n')}`);
    }
    approval = await approveOnAlert(ctx, record, picked.action, picked.target, turn.actor, correlationId);
  }
  const text = await describe(ctx, approval);
  announce(ctx, approval, approval.alertKey, text);
  return chatSafe(text);
}

export async function denyByCode(ctx: ApprovalContext, code: string, reason: string | undefined, turn: ChatTurn): Promise<string> {
  const correlationId = randomUUID();
  const found = await resolve(ctx, code);
  let denied: Approval[];
  if ('approval' in found) {
    const { approval } = found;
    await requireApprover(ctx, turn.actor, 'deny actions', { ...(approval.alertKey ? { alertKey: approval.alertKey } : {}), approvalId: approval.id }, correlationId, approval.action);
    if (approval.state === 'pending') await requireNotOwnAccount(ctx, turn.actor, approval.action as ActionName, parseActionTarget(approval.target), correlationId);
    denied = (await denyApproval(ctx, approval, turn.actor, reason, correlationId)) ? [approval] : [];
    await writeBackDenied(ctx, approval.alertKey ?? undefined, denied, turn.actor, reason);
  } else {
    denied = await denyAlert(ctx, found.record, turn.actor, reason, correlationId);
  }
  if (denied.length === 0) return 'Nothing was left to deny.';
  const text = deniedText(turn.actor, denied, reason);
  const first = denied[0]!;
  announce(ctx, (await ctx.store.getApproval(first.id)) ?? first, first.alertKey, text, text);
  return chatSafe(text);
}

/** `pending`: what waits for a decision, with the codes to type. */
export async function listPending(ctx: ApprovalContext): Promise<Approval[]> {
  return (await ctx.store.listPendingApprovals()).filter((approval) => approval.expiresAt.getTime() > ctx.now().getTime());
}
