import { randomUUID } from 'node:crypto';
import { actionLabel, stateLine } from '../cards/approval-lines.ts';
import { CARD_VERBS, type CardVerb } from '../cards/verbs.ts';
import type { CardAction, CardActionOutcome, ChatTurn } from '../domain/ports/chat.ts';
import { AppError, errorCode } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { isSaidAsIs, presentError } from '../domain/present-error.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import { chatSafe, type ApprovalContext } from './approval-context.ts';
import { parseAlertRef, parseApproveButton, type ApproveButtonData } from './approval-request.ts';
import { approvalIdFor, parseActionTarget, targetLabel } from './approval-target.ts';
import { announce, isPaused, renderCard, renderLookupCard } from './announce.ts';
import { approveOnAlert, approveOnLookup } from './approve.ts';
import { deniedText, denyAlert } from './deny.ts';
import { closeAlert, closedText } from './close-alert.ts';
import { lookupScopeKey, offeredOnAlert } from './offers.ts';
import { requiredApprovals } from '../actions/action-policy.ts';
import { retry } from './retry.ts';

/**
 * Card buttons, one handler per verb (as the Teams SDK routes them). Each turns the click into a
 * request for the use cases; the answer to the clicker is the card where it lives, re-rendered.
 */
type VerbHandler = (ctx: ApprovalContext, action: CardAction, turn: ChatTurn, correlationId: string) => Promise<CardActionOutcome>;

async function loadAlert(ctx: ApprovalContext, ref: { alertKey?: string; code?: string }): Promise<AlertRecord> {
  const record = (ref.alertKey ? await ctx.store.getAlertByKey(ref.alertKey) : undefined) ?? (ref.code ? await ctx.store.getAlertByCode(ref.code) : undefined);
  if (!record) throw new AppError('NOT_FOUND', 'That alert is not known to the bot (any more).');
  return record;
}

async function line(ctx: ApprovalContext, approval: Approval, withTarget: boolean): Promise<string> {
  const votes = await ctx.store.listApprovalVotes(approval.id, approval.round);
  const who = withTarget ? ` for ${targetLabel(parseActionTarget(approval.target))}` : '';
  return `${actionLabel(approval.action)}${who}: ${stateLine(approval, votes, { paused: await isPaused(ctx), ttlMinutes: ctx.settings.ttlMinutes })}`;
}

/**
 * A Submit's card answer is written into the message the button was on, for everyone (an Execute
 * answer only replaces the clicker's own view). Button data naming ANOTHER alert (hand-made, or a
 * copy of another card's button) must never put that alert's card there: such a click is answered
 * privately in words, and the alert's own card is updated where it lives (stored by the notifier).
 */
function answersElsewhere(action: CardAction, record: AlertRecord): boolean {
  return action.via === 'submit' && (action.cardActivityId === undefined || action.cardActivityId !== record.card?.activityId);
}

async function answerPrivately(turn: ChatTurn, text: string): Promise<CardActionOutcome> {
  await turn.replyPrivately({ text: chatSafe(text) });
  return { kind: 'answered', text };
}

/** The clicker's answer on an alert card: that card re-rendered; everyone else gets it too, where it lives. */
async function onAlertCard(ctx: ApprovalContext, action: CardAction, turn: ChatTurn, approval: Approval, record: AlertRecord): Promise<CardActionOutcome> {
  const status = await line(ctx, approval, false);
  const elsewhere = answersElsewhere(action, record);
  if (action.via === 'execute' || elsewhere) announce(ctx, undefined, record.key, status);
  if (elsewhere) return answerPrivately(turn, status);
  const message = await renderCard(ctx, record.key, status);
  return message?.card ? { kind: 'card', card: message.card } : { kind: 'message', text: status };
}

/** The clicker's answer on a lookup card: the card re-rendered with the outcome and what is left. */
async function onLookupCard(ctx: ApprovalContext, action: CardAction, approval: Approval): Promise<CardActionOutcome> {
  const status = await line(ctx, approval, true);
  if (!approval.target.replyTo) return { kind: 'message', text: status };
  if (action.via === 'execute') announce(ctx, approval, undefined, status);
  return { kind: 'card', card: await renderLookupCard(ctx, approval, status) };
}

function isLookup(data: ApproveButtonData): boolean {
  return !data.alertKey && !data.code;
}

const approve: VerbHandler = async (ctx, action, turn, correlationId) => {
  const data = parseApproveButton(action.data);
  if (isLookup(data)) return onLookupCard(ctx, action, await approveOnLookup(ctx, turn, action, data.action, data.target, correlationId));
  const record = await loadAlert(ctx, data);
  return onAlertCard(ctx, action, turn, await approveOnAlert(ctx, record, data.action, data.target, turn.actor, correlationId), record);
};

const retryVerb: VerbHandler = async (ctx, action, turn, correlationId) => {
  const data = parseApproveButton(action.data);
  if (isLookup(data)) {
    // Only an approval asked from THIS card (its id derives from the card's location) can be retried.
    if (!action.cardActivityId) throw new AppError('INPUT_INVALID', 'This button does not say which card it was on; look the person up again.');
    const scopeKey = lookupScopeKey({ conversationId: turn.conversation.id, activityId: action.cardActivityId });
    const approval = await ctx.store.getApproval(approvalIdFor(scopeKey, data.action, data.target));
    const offered = { scopeKey, policyApprovals: approval?.requiredApprovals ?? requiredApprovals(ctx.deps.policy, data.action) };
    return onLookupCard(ctx, action, await retry(ctx, approval, offered, turn.actor, correlationId));
  }
  const record = await loadAlert(ctx, data);
  const offered = await offeredOnAlert(ctx, record, data.action, data.target);
  const approval = await ctx.store.getApproval(approvalIdFor(offered.scopeKey, data.action, data.target));
  return onAlertCard(ctx, action, turn, await retry(ctx, approval, offered, turn.actor, correlationId), record);
};

const deny: VerbHandler = async (ctx, action, turn, correlationId) => {
  const ref = parseAlertRef(action.data);
  const record = await loadAlert(ctx, ref);
  const denied = await denyAlert(ctx, record, turn.actor, ref.reason, correlationId);
  const text = denied.length > 0 ? deniedText(turn.actor, denied, ref.reason) : 'Nothing was left to deny.';
  announce(ctx, undefined, record.key, text, denied.length > 0 ? text : undefined);
  if (answersElsewhere(action, record)) return answerPrivately(turn, text);
  const message = await renderCard(ctx, record.key, text);
  return message?.card ? { kind: 'card', card: message.card } : { kind: 'message', text };
};

const close: VerbHandler = async (ctx, action, turn, correlationId) => {
  const ref = parseAlertRef(action.data);
  const record = await loadAlert(ctx, ref);
  const result = await closeAlert(ctx, record, turn.actor, action.data.outcome, correlationId);
  const text = closedText(result);
  if (result.closedNow) announce(ctx, undefined, record.key, text, text);
  if (answersElsewhere(action, record)) return answerPrivately(turn, text);
  const message = await renderCard(ctx, record.key, text);
  return message?.card ? { kind: 'card', card: message.card } : { kind: 'message', text };
};

/** The approvals' verbs; `take` is the ownership use cases' (src/ownership/), routed beside these by the composition root. */
export const CARD_VERB_HANDLERS: Readonly<Record<Exclude<CardVerb, typeof CARD_VERBS.take>, VerbHandler>> = {
  [CARD_VERBS.approve]: approve,
  [CARD_VERBS.retry]: retryVerb,
  [CARD_VERBS.deny]: deny,
  [CARD_VERBS.close]: close,
};

/** Typed errors → what the person sees, in one place for the approvals. */
export function explain(error: unknown, log: Logger): string {
  if (isSaidAsIs(error)) log.info({ code: error.code }, 'card action refused');
  else log.error({ err: error, code: errorCode(error) }, 'card action failed');
  return presentError(error);
}

export async function onCardAction(ctx: ApprovalContext, action: CardAction, turn: ChatTurn): Promise<CardActionOutcome> {
  const correlationId = randomUUID();
  const clog = ctx.log.child({ verb: action.verb, via: action.via, actor: turn.actor.aadObjectId, correlationId });
  const handler = (CARD_VERB_HANDLERS as Record<string, VerbHandler | undefined>)[action.verb];
  if (!handler) return { kind: 'message', text: 'This button is not known to the bot.' };
  try {
    return await handler(ctx, action, turn, correlationId);
  } catch (error) {
    const text = explain(error, clog);
    if (action.via === 'execute') return { kind: 'message', text };
    // A Submit answer would be posted in the conversation: say it privately instead, and write
    // nothing into any card (the button data naming one is not to be trusted).
    await turn.replyPrivately({ text });
    return { kind: 'answered', text };
  }
}
