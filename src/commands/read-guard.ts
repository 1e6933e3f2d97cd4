import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import type { ChatTurn } from '../domain/ports/chat.ts';
import type { Logger } from '../observability/logger.ts';
import type { AuditLog } from '../domain/ports/audit-log.ts';
import type { CommandName } from './parse-command.ts';
import { createRateLimiter } from './rate-limit.ts';
import { readAccess } from './reader-check.ts';
import type { ReaderCheck } from '../domain/ports/reader-check.ts';

/** Commands that show what the bot knows (people, alerts, codes, the audit, its health): readers only. */
export const READ_COMMANDS: ReadonlySet<CommandName> = new Set(['lookup', 'alerts', 'pending', 'history', 'status']);
/** Of those, the ones that fan out to LDAP, Graph, Okta and Log Analytics: rate-limited per person. */
export const RATE_LIMITED_COMMANDS: ReadonlySet<CommandName> = new Set(['lookup', 'history', 'status']);

export interface ReadGuardDeps {
  store: AuditLog;
  /** Approvers are always readers. */
  approvers?: ApproverCheck;
  /** READER_GROUP_IDS / READER_USER_IDS; absent or not configured: approvers only. */
  readers?: ReaderCheck;
  /** LOOKUP_RATE_PER_MINUTE. */
  ratePerMinute: number;
  logger: Logger;
  now: () => Date;
}

/**
 * What stands before a read command: who may read (identity from the activity), then how often.
 * A refusal is one private line and, for a non-reader, an audit entry; nothing else is sent
 * (no card, no data, no public reply, no typing indicator).
 */
export function createReadGuard(deps: ReadGuardDeps): (command: CommandName, turn: ChatTurn) => Promise<boolean> {
  const limiter = createRateLimiter({ perMinute: deps.ratePerMinute, now: deps.now });

  return async (command, turn) => {
    if (!READ_COMMANDS.has(command)) return true;
    const actor = (turn.actor.aadObjectId ?? turn.actor.id).trim().toLowerCase();
    const access = await readAccess(turn.actor, { approvers: deps.approvers, readers: deps.readers, log: deps.logger });
    if (!access.allowed) {
      await deps.store.appendAudit({
        at: deps.now(),
        actor,
        action: 'read.unauthorized',
        outcome: 'refused',
        details: { attempted: command, name: turn.actor.name, conversationKind: turn.conversation.kind, ...(access.unchecked ? { refusedBecause: 'check unavailable' } : {}) },
      });
      await turn.replyPrivately({
        text: access.unchecked
          ? `I could not check whether you may use \`${command}\` (Entra ID did not tell me), so nothing was shown. Try again in a minute.`
          : `Only readers and approvers may use \`${command}\`; nothing was shown. Ask your SOC lead for access.`,
      });
      return false;
    }
    if (!RATE_LIMITED_COMMANDS.has(command)) return true;
    const taken = limiter.take(actor);
    if (taken.allowed) return true;
    deps.logger.info({ actor, command, used: taken.used }, 'lookup rate limit reached');
    const seconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
    await turn.replyPrivately({
      text: `You have run ${taken.used} lookups in the last minute (\`lookup\`, \`history\` and \`status\` count together); try again in ${seconds} s.`,
    });
    return false;
  };
}
