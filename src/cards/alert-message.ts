import { ACTION_CATALOG, undoOf } from '../actions/action-names.ts';
import type { ProposedAction } from '../actions/propose-actions.ts';
import type { OutboundMessage } from '../domain/ports/messenger.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { Approval, Vote } from '../domain/ports/approval-store.ts';
import { plain, renderAlertCard, toAlertCardData, type CardButton, type CardFact } from './alert-card.ts';
import { actionLabel, progress, stateLine } from './approval-lines.ts';
import { CARD_VERBS } from './verbs.ts';
import type { Escalation } from '../domain/ports/escalation-store.ts';
import { ownershipLine } from './ownership-line.ts';
import { CLOSE_OUTCOMES } from '../domain/defender-outcomes.ts';
import type { AlertClosure, WritebackStats } from '../domain/ports/writeback-outbox.ts';

/**
 * The one renderer of the alert card, for the notifier (first post, alert updates) and the
 * approvals (states, results): the card with each action's state next to its account ("Approved
 * by Alice — running"), buttons only where a decision is still possible (approve while pending,
 * Retry after a failure, Undo after a success where one exists) and the deployment notices.
 */
export interface ApprovalView {
  approval: Approval;
  votes: Vote[];
}

/** What the approvals know about an alert's card: the notifier asks for it, it does not compute it. */
export interface AlertCardState {
  approvals: readonly ApprovalView[];
  /** Execution paused by the hourly cap. */
  paused: boolean;
  /** The alert's escalation schedule (issue 15), for the card's owner/escalation line. */
  escalation?: Escalation;
  /** Closed from the card (who, which classification). */
  closure?: AlertClosure;
  /** This alert's Defender write-back jobs (absent when write-back is off). */
  writeback?: WritebackStats;
}

/** One small line for a phone: the write-back's state, the error as a code only. */
export function writebackLine(stats: WritebackStats | undefined): string {
  if (!stats) return '';
  const plural = (n: number) => `${n} update${n === 1 ? '' : 's'}`;
  const error = stats.lastErrorCode ? ` (${stats.lastErrorCode})` : '';
  if (stats.failed > 0) return `Defender: ${plural(stats.failed)} not written back${error}`;
  if (stats.pending > 0) return `Defender: ${plural(stats.pending)} waiting${stats.lastErrorCode ? `, retrying${error}` : ''}`;
  return stats.sent > 0 ? 'Defender: up to date' : '';
}

function closedLine(closure: AlertClosure | undefined): string {
  if (!closure) return '';
  const outcome = CLOSE_OUTCOMES.find((o) => o.classification === closure.classification && o.determination === closure.determination);
  return plain(`Closed by ${closure.closedByName}: ${outcome?.label ?? `${closure.classification}/${closure.determination}`}`, 200);
}

export interface AlertMessageInput {
  record: AlertRecord;
  proposals: readonly ProposedAction[];
  state: AlertCardState;
  dryRun: boolean;
  ttlMinutes: number;
  /** Latest event, under the title. */
  statusLine?: string;
  /** Deployment-wide line at the bottom of every card (CARD_FOOTER), e.g. "lab: simulated directory". */
  footer?: string;
}

const MAX_FACT = 300;
const SEVERITY_PREFIX: Record<string, string> = { high: 'High', medium: 'Medium', low: 'Low', informational: 'Info', unknown: 'Alert' };

export function renderAlertMessage(input: AlertMessageInput): OutboundMessage {
  const { record, state } = input;
  const viewOf = (action: string, target: string) => state.approvals.find((view) => view.approval.action === action && view.approval.target.accountKey === target);
  const lineOptions = { paused: state.paused, ttlMinutes: input.ttlMinutes };
  const footer = [input.dryRun ? 'DRY RUN: actions go through every check but change nothing' : '', state.paused ? 'Execution paused (hourly cap): an approver types resume' : '', input.footer ?? '']
    .filter(Boolean)
    .join(' · ');
  const data = toAlertCardData(record.alert, {
    referenceCode: record.code,
    proposedActions: input.proposals,
    ...(input.statusLine ? { statusLine: input.statusLine } : {}),
    ...(footer ? { footer } : {}),
    ownershipLine: ownershipLine(record.owner, state.escalation),
    // Resolved alerts need no owner any more; a lead takes over by typing `take <code>`.
    canTake: !record.owner && record.alert.status !== 'resolved',
  });
  let open = false;
  for (const account of data.accounts) {
    const buttons: CardButton[] = [];
    const facts: CardFact[] = [];
    for (const button of account.buttons) {
      const view = viewOf(button.action, button.target);
      const label = ACTION_CATALOG[button.action].label;
      if (!view) {
        buttons.push(button);
        const note = input.proposals.find((p) => p.action === button.action && p.target === button.target)?.note;
        if (note) facts.push({ title: label, value: plain(note, MAX_FACT) });
        open = true;
        continue;
      }
      const { approval, votes } = view;
      facts.push({ title: label, value: plain(stateLine(approval, votes, lineOptions), MAX_FACT) });
      if (approval.state === 'pending') {
        buttons.push({ ...button, title: `${label} (${progress(approval.requiredApprovals, votes)})` });
        open = true;
      } else if (approval.state === 'failed') {
        buttons.push({ ...button, verb: CARD_VERBS.retry, title: `Retry: ${label}` });
      } else if (approval.state === 'succeeded') {
        const undo = undoOf(button.action);
        if (!undo) continue;
        const undoView = viewOf(undo, button.target);
        if (undoView) {
          facts.push({ title: actionLabel(undo), value: plain(stateLine(undoView.approval, undoView.votes, lineOptions), MAX_FACT) });
          if (undoView.approval.state === 'pending') {
            buttons.push({ ...button, action: undo, title: `Undo: ${actionLabel(undo)} (${progress(undoView.approval.requiredApprovals, undoView.votes)})` });
          } else if (undoView.approval.state === 'failed') {
            buttons.push({ ...button, action: undo, verb: CARD_VERBS.retry, title: `Retry: ${actionLabel(undo)}` });
          }
        } else {
          buttons.push({ ...button, action: undo, title: `Undo: ${actionLabel(undo)}` });
        }
      }
    }
    account.buttons = buttons;
    account.facts = [...account.facts, ...facts];
  }
  // Deny applies to what is still open (pending or not yet requested); nothing open, no Deny.
  data.hasActions = open;
  data.canClose = !state.closure;
  data.closedLine = closedLine(state.closure);
  data.writebackLine = writebackLine(state.writeback);
  // The summary is what a phone shows in the notification: severity, title, reference code. Plain
  // text there (no markdown), so the raw title, flattened and bounded.
  const title = record.alert.title.replace(/\s+/g, ' ').trim().slice(0, 120) || 'Untitled alert';
  const status = input.statusLine ? `: ${input.statusLine.slice(0, 120)}` : '';
  return { card: renderAlertCard(data), summary: `${SEVERITY_PREFIX[record.alert.severity] ?? 'Alert'}: ${title} (${record.code})${status}` };
}
