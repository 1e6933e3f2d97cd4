import { readableUtc } from '../cards/alert-card.ts';
import type { ChatTurn } from '../domain/ports/chat.ts';
import { errorCode } from '../domain/errors.ts';
import { isSaidAsIs, presentError } from '../domain/present-error.ts';
import type { OutboundMessage } from '../domain/ports/messenger.ts';
import type { Logger } from '../observability/logger.ts';
import type { ApprovalStore } from '../domain/ports/approval-store.ts';
import { labelOf, targetLabel } from './labels.ts';
import type { ApprovalCommands } from '../domain/ports/approval-commands.ts';
import { safeText } from './safe-text.ts';

/**
 * The typed approval commands, the only place they are handled: `approve <code> [choice]`,
 * `deny <code> [reason]`, `resume` call the approval use cases (which authorise the actor from
 * the turn and the store); `pending` (alias `approvals`) lists the codes. Usage errors and
 * refusals are said privately (they are about the asker); `pending` always answers privately,
 * as it hands out approval codes.
 */
export interface ApprovalCommandDeps {
  store: ApprovalStore;
  approvals?: ApprovalCommands;
  logger: Logger;
  /** How a success is answered: the way the command was asked (see the command handler). */
  answer(turn: ChatTurn, message: OutboundMessage): Promise<void>;
}

type Handler = (args: string, turn: ChatTurn) => Promise<void>;

const MAX_LIST = 10;
/** Approval codes and alert reference codes: letters, digits, dashes. */
const CODE = /^[A-Za-z0-9-]{3,40}$/;
const MAX_LINE = 1_000;

export function createApprovalCommandHandlers(deps: ApprovalCommandDeps): { approve: Handler; deny: Handler; resume: Handler; pending: Handler } {
  const { store, approvals, logger, answer } = deps;

  /** A refusal or failure of a use case, in words, to the asker only; details stay in the log. */
  async function refuse(turn: ChatTurn, command: string, error: unknown): Promise<void> {
    const log = logger.child({ command, actor: turn.actor.aadObjectId });
    if (isSaidAsIs(error)) log.info({ code: error.code }, 'typed approval command refused');
    else log.error({ err: error, code: errorCode(error) }, 'typed approval command failed');
    await turn.replyPrivately({ text: chatLines(presentError(error)) });
  }

  async function decide(verb: 'approve' | 'deny', args: string, turn: ChatTurn): Promise<void> {
    const [code = '', ...rest] = args.split(' ');
    if (!CODE.test(code)) {
      return turn.replyPrivately({ text: `Usage: \`${verb} <code>\` ${verb === 'deny' ? '[reason]' : '[number or action]'}; \`pending\` lists the codes.` });
    }
    if (!approvals) return turn.replyPrivately({ text: 'Approvals are not enabled on this bot yet.' });
    const more = rest.join(' ').trim().slice(0, 500) || undefined;
    let text: string;
    try {
      text = verb === 'approve' ? await approvals.approveByCode(code, more, turn) : await approvals.denyByCode(code, more, turn);
    } catch (error) {
      return refuse(turn, verb, error);
    }
    return answer(turn, { text });
  }

  async function resume(_args: string, turn: ChatTurn): Promise<void> {
    if (!approvals?.resume) return turn.replyPrivately({ text: 'Nothing to resume: actions are not paused on this bot.' });
    let text: string;
    try {
      text = await approvals.resume(turn);
    } catch (error) {
      return refuse(turn, 'resume', error);
    }
    return answer(turn, { text: chatLines(text) });
  }

  async function pending(_args: string, turn: ChatTurn): Promise<void> {
    const waiting = await store.listPendingApprovals();
    if (waiting.length === 0) return turn.replyPrivately({ text: 'No approvals are waiting.' });
    const lines = waiting.slice(0, MAX_LIST).map((approval) => {
      const target = targetLabel(approval.target);
      return `- **${safeText(approval.code, 20)}** ${labelOf(approval.action)}${target ? ` · ${safeText(target, 80)}` : ''} · expires ${readableUtc(approval.expiresAt.toISOString())}`;
    });
    const more = waiting.length > MAX_LIST ? [`…and ${waiting.length - MAX_LIST} more.`] : [];
    return turn.replyPrivately({ text: ['Waiting for approval (`approve <code>` or `deny <code> [reason]`):', ...lines, ...more].join('\n\n') });
  }

  return { approve: (args, turn) => decide('approve', args, turn), deny: (args, turn) => decide('deny', args, turn), resume, pending };
}

/** Each line made safe to show (markdown escaped, control characters gone), line breaks kept. */
function chatLines(text: string): string {
  return text
    .split('\n')
    .map((line) => safeText(line, MAX_LINE))
    .join('\n');
}
