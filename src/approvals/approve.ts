import { ACTION_CATALOG, type ActionName } from '../actions/action-names.ts';
import { actionLabel } from '../cards/approval-lines.ts';
import { primaryAccountKey } from '../domain/account-key.ts';
import type { AlertAccount } from '../domain/alert.ts';
import type { Actor, CardAction, ChatTurn } from '../domain/ports/chat.ts';
import { AppError, isAppError } from '../domain/errors.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import type { ApprovalContext } from './approval-context.ts';
import { actionTargetOf, approvalIdFor, findAccount } from './approval-target.ts';
import { castVote } from './cast-vote.ts';
import { requireApprover } from './gate.ts';
import { offeredOnAlert, offeredOnLookup } from './offers.ts';
import { requestApproval } from './request-approval.ts';

/**
 * "Approve" on an alert card (or `approve <alert ref> [n]`): the button must be one the stored
 * alert offers, the clicker an approver; the approval is requested (first click) and the vote cast.
 */
export async function approveOnAlert(ctx: ApprovalContext, record: AlertRecord, action: ActionName, target: string, actor: Actor, correlationId: string): Promise<Approval> {
  const offered = await offeredOnAlert(ctx, record, action, target);
  await requireApprover(ctx, actor, 'approve actions', { alertKey: record.key, accountKey: target }, correlationId, action);
  const account = findAccount(record.alert.accounts, target);
  if (!account) throw new AppError('INPUT_INVALID', 'That account is not on this alert.');
  const { approval, verdict } = await requestApproval(
    ctx,
    { id: approvalIdFor(offered.scopeKey, action, target), alertKey: record.key, action, target: actionTargetOf(account, target), offered, actor },
    correlationId,
  );
  return castVote(ctx, approval, actor, correlationId, verdict);
}

/**
 * "Approve" on a lookup card (no alert): the card must be one the bot recorded posting here about
 * this person, and the action one it offered there. The person is found again server-side and must
 * be exactly the one the card named; one approval per (card, action, person).
 */
export async function approveOnLookup(ctx: ApprovalContext, turn: ChatTurn, cardAction: CardAction, action: ActionName, target: string, correlationId: string): Promise<Approval> {
  await requireApprover(ctx, turn.actor, 'approve actions', { accountKey: target }, correlationId, action);
  const { offered, offer } = await offeredOnLookup(ctx, turn, cardAction, action, target);
  const system = ACTION_CATALOG[action].system;
  if (!ctx.deps.resolvePerson || !ctx.deps.capabilities[system] || !ctx.deps.remediation.supports(action)) {
    throw new AppError('INPUT_INVALID', `${actionLabel(action)} is not configured in this deployment.`);
  }
  const id = approvalIdFor(offered.scopeKey, action, target);
  const existing = await ctx.store.getApproval(id);
  if (existing) return castVote(ctx, existing, turn.actor, correlationId);
  let account: AlertAccount | undefined;
  try {
    account = await ctx.deps.resolvePerson(target);
  } catch (error) {
    throw new AppError(isAppError(error) ? error.code : 'DIRECTORY_UNAVAILABLE', `Could not look the person up before approving: ${isAppError(error) ? error.message : 'the directory did not answer'}. Nothing was changed.`, { cause: error });
  }
  if (!account || primaryAccountKey(account) !== target) throw new AppError('NOT_FOUND', 'That person could not be found again in the directory, so nothing was changed. Look them up again.');
  const addressable = system === 'activeDirectory' ? Boolean(account.sid || account.samAccountName) : system === 'entra' ? Boolean(account.entraObjectId || account.userPrincipalName) : Boolean(account.userPrincipalName);
  if (!addressable) throw new AppError('INPUT_INVALID', `${actionLabel(action)} cannot address this person: no account in that system.`);
  // Where the card lives: the card the bot recorded posting (its id checked against the offer), in
  // this conversation as Teams named it on the authenticated activity (with its thread, if any).
  const replyTo = { reference: turn.channelReference, conversationId: turn.conversation.id, activityId: offer.activityId };
  const { approval, verdict } = await requestApproval(ctx, { id, action, target: actionTargetOf(account, target), offered, actor: turn.actor, extra: { replyTo, scope: offered.scopeKey } }, correlationId);
  return castVote(ctx, approval, turn.actor, correlationId, verdict);
}
