import { undoOf, type ActionName } from '../actions/action-names.ts';
import personActionsTemplate from '../../cards/person-actions.json' with { type: 'json' };
import type { Approval, Vote } from '../domain/ports/approval-store.ts';
import { plain, type CardFact } from './alert-card.ts';
import { actionLabel, progress, stateLine } from './approval-lines.ts';
import { renderTemplate } from './render.ts';
import { CARD_VERBS } from './verbs.ts';

/**
 * A lookup card after an action was decided from it: the person, each action asked from that card
 * with its state, and the buttons still meaningful (approve while pending, Retry after a failure,
 * Undo after a success), as the alert card shows them. Replaces the lookup card where it lives.
 */
export interface PersonActionsInput {
  personLabel: string;
  targetKey: string;
  approvals: readonly { approval: Approval; votes: Vote[] }[];
  statusLine?: string;
  paused: boolean;
  ttlMinutes: number;
}

interface Button {
  title: string;
  verb: string;
  action: string;
  target: string;
}

export function renderPersonActionsCard(input: PersonActionsInput): Record<string, unknown> {
  const facts: CardFact[] = [];
  const buttons: Button[] = [];
  const options = { paused: input.paused, ttlMinutes: input.ttlMinutes };
  const byAction = new Map(input.approvals.map((view) => [view.approval.action, view]));
  for (const { approval, votes } of input.approvals) {
    const action = approval.action as ActionName;
    facts.push({ title: actionLabel(action), value: plain(stateLine(approval, votes, options), 300) });
    const button = (verb: string, title: string, what: string = action): Button => ({ title, verb, action: what, target: input.targetKey });
    if (approval.state === 'pending') buttons.push(button(CARD_VERBS.approve, `${actionLabel(action)} (${progress(approval.requiredApprovals, votes)})`));
    else if (approval.state === 'failed') buttons.push(button(CARD_VERBS.retry, `Retry: ${actionLabel(action)}`));
    else if (approval.state === 'succeeded') {
      const undo = undoOf(action);
      if (undo && !byAction.has(undo)) buttons.push(button(CARD_VERBS.approve, `Undo: ${actionLabel(undo)}`, undo));
    }
  }
  return renderTemplate(personActionsTemplate, {
    title: plain(`Actions for ${input.personLabel}`, 200),
    statusLine: input.statusLine ? plain(input.statusLine, 300) : '',
    facts,
    buttons,
    note: 'From a lookup card. Type lookup again for the full picture.',
  });
}
