import type { ChatTurn } from './chat.ts';

/**
 * The ownership use cases as typed commands see them (`take K7M2QX`, `assign K7M2QX @person`). The
 * use cases authorise the actor from the turn (never from what was typed) and answer with one
 * chat-safe sentence; a refusal (not a reader, not a lead, someone else has it) is thrown as an
 * AppError whose message the command handler says privately to the asker.
 */
export interface OwnershipCommands {
  takeByCode(code: string, turn: ChatTurn): Promise<string>;
  assignByCode(code: string, turn: ChatTurn): Promise<string>;
}
