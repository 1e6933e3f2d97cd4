/** An OutboundMessage as a Teams message activity. */
import type { Activity } from 'botbuilder';
import { AppError } from '../domain/errors.ts';
import type { OutboundMessage } from '../domain/ports/messenger.ts';

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** The message activity for an OutboundMessage: a card attachment (summary for notifications) or text. */
export function toActivity(message: OutboundMessage): Partial<Activity> {
  if (message.card) {
    return {
      type: 'message',
      attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: message.card }],
      ...(message.text ? { text: message.text, textFormat: 'markdown' } : {}),
      ...(message.summary || message.text ? { summary: message.summary ?? message.text } : {}),
    };
  }
  if (message.text) return { type: 'message', text: message.text, textFormat: 'markdown', ...(message.summary ? { summary: message.summary } : {}) };
  throw new AppError('INPUT_INVALID', 'A Teams message needs text or a card.');
}
