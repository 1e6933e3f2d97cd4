import type { ChatTurn } from './chat.ts';

/**
 * The approval use cases as typed commands see them (`approve K7M2QX [2|action]`, `deny K7M2QX
 * reason`, `resume`); the command handler is the only caller for typed commands (one path). The
 * use cases authorise the actor themselves (identity from the turn, authority from the store) and
 * answer with one chat-safe sentence; a refusal is thrown as an AppError (NOT_AUTHORIZED,
 * INPUT_INVALID, NOT_FOUND, CONFLICT...) whose message the handler says privately to the asker.
 */
export interface ApprovalCommands {
  approveByCode(code: string, choice: string | undefined, turn: ChatTurn): Promise<string>;
  denyByCode(code: string, reason: string | undefined, turn: ChatTurn): Promise<string>;
  resume?(turn: ChatTurn): Promise<string>;
  /** Records the buttons of a lookup card the bot just posted (only these can be pressed on it). */
  offerLookupActions?(offer: { conversationId: string; activityId: string; targetKey: string; actions: readonly string[]; offeredTo: string }): Promise<void>;
}
