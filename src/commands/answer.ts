/** How a command is answered: the way it was asked (privately, in the thread, located). */
import type { ChatTurn, SentActivity } from '../domain/ports/chat.ts';
import type { OutboundMessage } from '../domain/ports/messenger.ts';

/**
 * Where a command's answer goes: the way it was asked. A slash command (a targeted message) is
 * answered privately to the asker; an @mention in a channel or group chat is answered in the
 * thread, visible, as the asker chose to ask in the open; a personal chat is private anyway.
 */
export async function answer(turn: ChatTurn, message: OutboundMessage): Promise<void> {
  await answerAt(turn, message);
}

/** A reply in the thread, visible, whatever the way it was asked (subscribe/unsubscribe). */
export async function replyIn(turn: ChatTurn, message: OutboundMessage): Promise<void> {
  await turn.reply(message);
}

/**
 * `answer`, saying where the message landed when the channel said so. A targeted (private) answer
 * is not located: its buttons are then refused ("look the person up again") rather than trusted.
 */
export async function answerAt(turn: ChatTurn, message: OutboundMessage): Promise<SentActivity | undefined> {
  if (turn.targeted) {
    await turn.replyPrivately(message);
    return undefined;
  }
  if (turn.replyLocated) return turn.replyLocated(message);
  await turn.reply(message);
  return undefined;
}
