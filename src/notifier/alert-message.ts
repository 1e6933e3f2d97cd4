import type { ActionPolicy } from '../actions/action-policy.ts';
import { proposeActions, type DirectoryCapabilities, type ProposedAction } from '../actions/propose-actions.ts';
import { renderAlertMessage, type AlertCardState } from '../cards/alert-message.ts';
import type { OutboundMessage } from '../domain/ports/messenger.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';

/**
 * Turns a stored alert into the Teams message for its card, through the one alert-card renderer.
 * The card's approval state comes from `cardState` (the approvals answer it; the notifier does not
 * call into them), so an alert update never overwrites what the card says about decisions.
 */
export type RenderAlertMessage = (record: AlertRecord) => OutboundMessage | Promise<OutboundMessage>;

export interface AlertMessageOptions {
  policy: ActionPolicy;
  capabilities: DirectoryCapabilities;
  dryRun: boolean;
  ttlMinutes: number;
  /** CARD_FOOTER. */
  footer?: string;
  /** The approvals' view of the alert's actions; none: a card with no decisions yet. */
  cardState?: (alertKey: string) => Promise<AlertCardState>;
  /** Which of the proposals get buttons (the executor's offer, e.g. what Defender for Identity lists); none: all. */
  shownProposals?: (record: AlertRecord, proposals: ProposedAction[], state: AlertCardState) => Promise<ProposedAction[]>;
}

const NO_DECISIONS: AlertCardState = { approvals: [], paused: false };

export function createAlertMessageRenderer(options: AlertMessageOptions): RenderAlertMessage {
  return async (record) => {
    const state = options.cardState ? await options.cardState(record.key) : NO_DECISIONS;
    const proposed = proposeActions(record.alert, options.policy, options.capabilities);
    const proposals = options.shownProposals ? await options.shownProposals(record, proposed, state) : proposed;
    return renderAlertMessage({ record, proposals, state, dryRun: options.dryRun, ttlMinutes: options.ttlMinutes, ...(options.footer ? { footer: options.footer } : {}) });
  };
}
