/** An OutboundMessage as a Teams message activity. */
import type { Activity, Entity } from 'botbuilder';
import { AppError } from '../domain/errors.ts';
import type { OutboundMention, OutboundMessage } from '../domain/ports/messenger.ts';
// Tag mentions keep their `mentioned.type` through botbuilder's serializer.
import './mention-serialization.ts';

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
  if (message.text) {
    const entities = mentionEntities(message.text, message.mentions ?? []);
    return { type: 'message', text: message.text, textFormat: 'markdown', ...(message.summary ? { summary: message.summary } : {}), ...(entities.length > 0 ? { entities } : {}) };
  }
  throw new AppError('INPUT_INVALID', 'A Teams message needs text or a card.');
}

/**
 * Mention entities, as Teams documents them
 * (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/conversations/channel-and-group-conversations#add-mentions-to-your-messages):
 * `{type: 'mention', text: '<at>name</at>', mentioned: {id, name}}`, the same `<at>name</at>` in the
 * message text; a person by Teams user id or Entra object id; a tag ("Tag mention", same page) with
 * `mentioned: {id: <tag id>, name: <tag name>, type: 'tag'}`. A mention whose markup is not in
 * the text is dropped (Teams would not render it).
 */
function mentionEntities(text: string, mentions: readonly OutboundMention[]): Entity[] {
  return mentions
    .filter((mention) => text.includes(`<at>${mention.name}</at>`))
    .map((mention) => ({
      type: 'mention',
      text: `<at>${mention.name}</at>`,
      mentioned: { id: mention.id, name: mention.name, ...(mention.kind === 'tag' ? { type: 'tag' } : {}) },
    }));
}
