import type { ReaderCheck } from '../../domain/ports/reader-check.ts';
import { createGraphApproverCheck } from './graph-approver-check.ts';
import type { GraphClient } from './graph-client.ts';

/**
 * ReaderCheck on Entra ID: listed in READER_USER_IDS or a transitive member of one of
 * READER_GROUP_IDS. The same membership question as the approvers' (`POST
 * /users/{id}/checkMemberGroups`, transitive, at most 20 groups per call, GroupMember.Read.All:
 * https://learn.microsoft.com/en-us/graph/api/user-checkmembergroups), asked about the other
 * list, with the same short cache (a removal from the group bites within a minute).
 */
export function createGraphReaderCheck(options: { client: GraphClient; groupIds: readonly string[]; userIds: readonly string[]; cacheTtlMs?: number }): ReaderCheck {
  const members = createGraphApproverCheck({ ...options, purpose: 'reader' });
  return {
    configured: members.configured,
    isReader: (actor, context) => members.isApprover(actor, context),
  };
}
