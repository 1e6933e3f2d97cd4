import type { ActionPolicy } from '../actions/action-policy.ts';
import { proposeActions, type DirectoryCapabilities } from '../actions/propose-actions.ts';
import { renderAlertCard, toAlertCardData } from '../cards/alert-card.ts';
import type { OutboundMessage } from '../domain/messenger.ts';
import type { AlertRecord } from '../store/store.ts';

/**
 * Turns a stored alert into the Teams message for its card. Injectable so that a later use case
 * (the approval workflow) can render the same card with its own status line instead of the
 * notifier overwriting it on an alert update.
 */
export type RenderAlertMessage = (record: AlertRecord) => OutboundMessage | Promise<OutboundMessage>;

export interface AlertMessageOptions {
  policy: ActionPolicy;
  capabilities: DirectoryCapabilities;
  /** Shown small at the bottom of every card, e.g. "DRY RUN: actions are simulated". */
  footer?: string;
}

const SEVERITY_PREFIX: Record<string, string> = {
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  informational: 'Info',
  unknown: 'Alert',
};

export function createAlertMessageRenderer(options: AlertMessageOptions): RenderAlertMessage {
  return (record) => {
    const proposedActions = proposeActions(record.alert, options.policy, options.capabilities);
    const data = toAlertCardData(record.alert, { referenceCode: record.code, proposedActions, footer: options.footer });
    // The summary is what a phone shows in the notification: severity, title, reference code.
    // Plain text there (no markdown), so the raw title, flattened and bounded.
    const title = record.alert.title.replace(/\s+/g, ' ').trim().slice(0, 120) || 'Untitled alert';
    const summary = `${SEVERITY_PREFIX[record.alert.severity] ?? 'Alert'}: ${title} (${record.code})`;
    return { card: renderAlertCard(data), summary };
  };
}
