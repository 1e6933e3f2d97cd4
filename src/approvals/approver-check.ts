import type { ApproverCheck } from '../domain/ports/approver-check.ts';

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
