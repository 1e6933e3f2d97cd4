import { userIdList } from '../shared/user-id-list.ts';
import type { ApproverCheck } from '../domain/ports/approver-check.ts';

/** APPROVER_USER_IDS only (no groups): a fixed list of Entra object ids. */
export function createUserListApproverCheck(userIds: readonly string[]): ApproverCheck {
  const list = userIdList(userIds);
  return {
    configured: list.configured,
    async isApprover(actor) {
      return list.includes(actor);
    },
  };
}
