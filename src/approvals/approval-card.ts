import { ACTION_CATALOG, isActionName, undoOf } from '../actions/action-names.ts';
import type { ProposedAction } from '../actions/propose-actions.ts';
import { plain, renderAlertCard, toAlertCardData, type CardButton, type CardFact } from '../cards/alert-card.ts';
import { CARD_VERBS } from '../cards/verbs.ts';
import type { OutboundMessage } from '../domain/messenger.ts';
import type { AlertRecord, Approval, Vote } from '../store/store.ts';
import { approvalIdFor } from './approval-target.ts';
import { actionLabel, progress, stateLine } from './approval-text.ts';

/**
 * The alert card as the approval workflow shows it: the same card the notifier posts, with each
 * action's state next to its account ("Approved by Alice — running"), buttons only where a
 * decision is still possible (approve while pending, Retry after a failure, Undo after a success
 * where one exists) and the dry-run notice on every card.
 */
export interface ApprovalView {
  approval: Approval;
  votes: Vote[];
}

export interface ApprovalCardInput {
  record: AlertRecord;
  proposals: readonly ProposedAction[];
  approvals: readonly ApprovalView[];
  dryRun: boolean;
  paused: boolean;
  ttlMinutes: number;
  /** Latest event, under the title. */
  statusLine?: string;
  /** Deployment-wide line at the bottom of every card (CARD_FOOTER), e.g. "lab: simulated directory". */
  footer?: string;
}

const MAX_FACT = 300;

export function renderApprovalCard(input: ApprovalCardInput): OutboundMessage {
  const { record, approvals } = input;
  const byId = new Map(approvals.map((view) => [view.approval.id, view]));
  const viewOf = (action: string, target: string) => (isActionName(action) ? byId.get(approvalIdFor(record.key, action, target)) : undefined);
  const footer = [input.dryRun ? 'DRY RUN: actions go through every check but change nothing' : '', input.paused ? 'Execution paused (hourly cap): an approver types resume' : '', input.footer ?? '']
    .filter(Boolean)
    .join(' · ');
  const data = toAlertCardData(record.alert, {
    referenceCode: record.code,
    proposedActions: input.proposals,
    ...(input.statusLine ? { statusLine: input.statusLine } : {}),
    ...(footer ? { footer } : {}),
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
        open = true;
        continue;
      }
      const { approval, votes } = view;
      facts.push({ title: label, value: plain(stateLine(approval, votes, input), MAX_FACT) });
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
          facts.push({ title: actionLabel(undo), value: plain(stateLine(undoView.approval, undoView.votes, input), MAX_FACT) });
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
  const title = record.alert.title.replace(/\s+/g, ' ').trim().slice(0, 120) || 'Untitled alert';
  return { card: renderAlertCard(data), summary: `${title} (${record.code})${input.statusLine ? `: ${input.statusLine.slice(0, 120)}` : ''}` };
}
