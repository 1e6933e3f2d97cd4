import { tracedRemediation } from '../observability/traced-remediation.ts';
import { randomUUID } from 'node:crypto';
import type { AlertCardState } from '../cards/alert-message.ts';
import type { CardAction, CardActionOutcome, ChatTurn } from '../domain/ports/chat.ts';
import type { OutboundMessage } from '../domain/ports/messenger.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import { chatSafe, createApprovalContext, type ApprovalWorkflowDeps } from './approval-context.ts';
import { cardState, renderCard, replyInThread, shownProposals, updateCard } from './announce.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { ProposedAction } from '../actions/propose-actions.ts';
import { approveByCode, denyByCode, listPending } from './by-code.ts';
import { onCardAction } from './card-verbs.ts';
import { sweepExpired } from './expire.ts';
import { recordLookupOffer, type LookupOffer } from './lookup-offers.ts';
import { reconcile } from './reconcile.ts';
import { resume } from './resume.ts';

export type { ApprovalSettings, ApprovalWorkflowDeps } from './approval-context.ts';

/**
 * The approval workflow, assembled: an analyst presses Approve; the action runs exactly once, by the
 * right people, and the result lands where the card lives. Each entry point is a thin adapter over
 * the use cases in this folder, and every decision passes one gate (gate.ts):
 *
 *   card buttons ........ card-verbs.ts (one handler per verb) → approve.ts / retry.ts / deny.ts
 *   typed commands ...... by-code.ts, resume.ts (called by the command handler)
 *   the vote ............ cast-vote.ts → run-action.ts → deliver-password.ts → announce.ts
 *   after a crash ....... reconcile.ts; expiry: expire.ts
 *
 * Every must-happen-once step is a conditional write in the store (create by deterministic id,
 * one vote per approver per round, pending → approved → running → succeeded/failed), so double
 * clicks, Teams' invoke retries, concurrent approvers and several bot instances converge on one run.
 */
export interface ApprovalWorkflow {
  /** TurnHandlers.onCardAction: verbs approve, retry, deny. */
  onCardAction(action: CardAction, turn: ChatTurn): Promise<CardActionOutcome>;
  approveByCode(code: string, choice: string | undefined, turn: ChatTurn): Promise<string>;
  denyByCode(code: string, reason: string | undefined, turn: ChatTurn): Promise<string>;
  resume(turn: ChatTurn): Promise<string>;
  listPending(): Promise<Approval[]>;
  /** A lookup card the bot posted: its buttons may then be pressed (see offers.ts). */
  offerLookupActions(offer: LookupOffer): Promise<void>;
  /** Pending (and approved, not started) approvals past their TTL → expired, cards updated. */
  sweepExpired(): Promise<number>;
  /** Settles runs a dead process left `running` (read back, never re-run); starts stranded approved ones. */
  reconcile(options?: { staleAfterMs?: number }): Promise<number>;
  /** The alert card with approval states. */
  renderCard(alertKey: string, statusLine?: string): Promise<OutboundMessage | undefined>;
  /** The alert card re-rendered and replaced where it lives (ownership and escalation changes). */
  updateCard(alertKey: string, statusLine?: string): Promise<void>;
  /** A line in the alert's thread. */
  replyInThread(alertKey: string, text: string): Promise<void>;
  /** The approvals' state of an alert card, for the notifier's renderer. */
  cardState(alertKey: string): Promise<AlertCardState>;
  /** Which proposals get buttons: what the executor offers for the account now, and every one already decided. */
  shownProposals(record: AlertRecord, proposals: ProposedAction[], state: AlertCardState): Promise<ProposedAction[]>;
  /** Resolves when background executions and card updates started so far are done (tests, shutdown). */
  idle(): Promise<void>;
  /** Shutdown: stops waiting for the effects of requested actions (their audit keeps "requested"). */
  close(): void;
}

export function createApprovalWorkflow(deps: ApprovalWorkflowDeps): ApprovalWorkflow {
  // Each step of an action (inspect, run, read-back) a span, its duration a metric.
  const ctx = createApprovalContext({ ...deps, remediation: tracedRemediation(deps.remediation) });
  return {
    async onCardAction(action, turn) {
      const outcome = await onCardAction(ctx, action, turn);
      // Cards escape at render; a message answer (a Submit's one goes to the conversation) here.
      return outcome.kind === 'card' ? outcome : { ...outcome, text: chatSafe(outcome.text) };
    },
    approveByCode: (code, choice, turn) => approveByCode(ctx, code, choice, turn),
    denyByCode: (code, reason, turn) => denyByCode(ctx, code, reason, turn),
    resume: (turn) => resume(ctx, turn),
    listPending: () => listPending(ctx),
    offerLookupActions: (offer) => recordLookupOffer(ctx, offer),
    sweepExpired: () => sweepExpired(ctx, randomUUID()),
    reconcile: (options = {}) => reconcile(ctx, options, randomUUID()),
    renderCard: (alertKey, statusLine) => renderCard(ctx, alertKey, statusLine),
    cardState: (alertKey) => cardState(ctx, alertKey),
    shownProposals: (record, proposals, state) => shownProposals(ctx, record, state, proposals),
    updateCard: (alertKey, statusLine) => updateCard(ctx, alertKey, statusLine),
    replyInThread: (alertKey, text) => replyInThread(ctx, alertKey, text),
    async idle() {
      while (ctx.inflight.size > 0) await Promise.allSettled([...ctx.inflight]);
    },
    close: () => ctx.closing.abort(),
  };
}
