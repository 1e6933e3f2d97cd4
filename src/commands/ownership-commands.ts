import { errorCode } from '../domain/errors.ts';
import { isSaidAsIs, presentError } from '../domain/present-error.ts';
import type { ChatTurn } from '../domain/ports/chat.ts';
import type { OutboundMessage } from '../domain/ports/messenger.ts';
import type { OwnershipCommands } from '../domain/ports/ownership-commands.ts';
import type { Logger } from '../observability/logger.ts';
import { safeText } from './safe-text.ts';

/**
 * `take <ref>` and `assign <ref> @person`: the ownership use cases decide who may (from the turn's
 * identity); a refusal, or "someone else has it", is said privately to the asker; a change is
 * answered the way it was asked (and the card and the thread say it for everyone).
 */
type Handler = (args: string, turn: ChatTurn) => Promise<void>;

export function createOwnershipCommandHandlers(deps: { ownership?: OwnershipCommands; logger: Logger; answer(turn: ChatTurn, message: OutboundMessage): Promise<void> }): { take: Handler; assign: Handler } {
  const run = (command: 'take' | 'assign') => async (args: string, turn: ChatTurn) => {
    if (!deps.ownership) return turn.replyPrivately({ text: 'Alert owners are not enabled on this bot.' });
    const code = args.split(' ')[0] ?? '';
    let text: string;
    try {
      text = command === 'take' ? await deps.ownership.takeByCode(code, turn) : await deps.ownership.assignByCode(code, turn);
    } catch (error) {
      const log = deps.logger.child({ command, actor: turn.actor.aadObjectId });
      if (isSaidAsIs(error)) log.info({ code: error.code }, 'ownership command refused');
      else log.error({ err: error, code: errorCode(error) }, 'ownership command failed');
      return turn.replyPrivately({ text: safeText(presentError(error), 500) });
    }
    return deps.answer(turn, { text: safeText(text, 500) });
  };
  return { take: run('take'), assign: run('assign') };
}
