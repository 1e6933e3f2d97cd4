import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import { userIdList } from '../shared/user-id-list.ts';
import type { ReaderCheck } from '../domain/ports/reader-check.ts';
import type { Actor } from '../domain/ports/chat.ts';
import type { Logger } from '../observability/logger.ts';

/** READER_USER_IDS only (no groups, or no Graph to ask about them): a fixed list of Entra object ids. */
export function createUserListReaderCheck(userIds: readonly string[]): ReaderCheck {
  const list = userIdList(userIds);
  return {
    configured: list.configured,
    async isReader(actor) {
      return list.includes(actor);
    },
  };
}

/** `unchecked`: a check that had to be asked could not answer (the refusal says so). */
export type ReadAccess = { allowed: true } | { allowed: false; unchecked: boolean };

/**
 * Approvers are always readers; the configured readers are the others. Fails closed: nothing
 * configured means approvers only, and a check that cannot answer counts as "no" unless the
 * other one said yes.
 */
export async function readAccess(actor: Actor, deps: { approvers?: ApproverCheck; readers?: ReaderCheck; log: Logger }): Promise<ReadAccess> {
  let unchecked = false;
  const ask = async (check: (() => Promise<boolean>) | undefined, which: string): Promise<boolean> => {
    if (!check) return false;
    try {
      return await check();
    } catch (error) {
      deps.log.warn({ err: error, actor: actor.aadObjectId, check: which }, 'reader check could not answer; refused');
      unchecked = true;
      return false;
    }
  };
  const { approvers, readers } = deps;
  if (await ask(approvers && (() => approvers.isApprover(actor, { log: deps.log })), 'approver')) return { allowed: true };
  if (readers?.configured && (await ask(() => readers.isReader(actor, { log: deps.log }), 'reader'))) return { allowed: true };
  return { allowed: false, unchecked };
}
