import type { Actor } from '../domain/chat.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * The ApproverCheck port: may this person (identified by the authenticated activity, never by
 * card data) approve containment actions? Implementations throw AppError when they cannot tell;
 * callers treat that as "no" (fail closed) and say why.
 */
export interface ApproverCheck {
  /** False when nothing is configured: with no approvers, nobody can approve. */
  readonly configured: boolean;
  isApprover(actor: Actor, options: { log: Logger }): Promise<boolean>;
}

/** APPROVER_USER_IDS only (no groups): a fixed list of Entra object ids. */
export function createUserListApproverCheck(userIds: readonly string[]): ApproverCheck {
  const allowed = new Set(userIds.map((id) => id.trim().toLowerCase()).filter(Boolean));
  return {
    configured: allowed.size > 0,
    async isApprover(actor) {
      const id = actor.aadObjectId?.trim().toLowerCase();
      return id !== undefined && id !== '' && allowed.has(id);
    },
  };
}
