import type { ApproverCheck } from '../../domain/ports/approver-check.ts';
import type { Actor } from '../../domain/ports/chat.ts';
import { graphErrorToAppError, type GraphClient } from './graph-client.ts';

/**
 * ApproverCheck on Entra ID: the clicker's aadObjectId (from the authenticated activity) is an
 * approver when listed in APPROVER_USER_IDS or a transitive member of one of APPROVER_GROUP_IDS
 * (`POST /users/{id}/checkMemberGroups`, at most 20 groups per call). Answers are cached briefly
 * so a burst of clicks costs one Graph call, and a removal from the group bites within `cacheTtlMs`.
 */
export interface GraphApproverCheckOptions {
  client: GraphClient;
  groupIds: readonly string[];
  userIds: readonly string[];
  /** Default 60 s. */
  cacheTtlMs?: number;
  /** Whose membership this is (for the error's sentence); default approver. The readers' check asks the same question. */
  purpose?: 'approver' | 'reader';
  now?: () => number;
}

const GROUPS_PER_CALL = 20;

export function createGraphApproverCheck(options: GraphApproverCheckOptions): ApproverCheck {
  const groups = [...new Set(options.groupIds.map((id) => id.trim().toLowerCase()).filter(Boolean))];
  const users = new Set(options.userIds.map((id) => id.trim().toLowerCase()).filter(Boolean));
  const ttl = options.cacheTtlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { allowed: boolean; until: number }>();
  const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  async function memberOfAny(userId: string): Promise<boolean> {
    for (let i = 0; i < groups.length; i += GROUPS_PER_CALL) {
      const groupIds = groups.slice(i, i + GROUPS_PER_CALL);
      let response: { value?: unknown };
      try {
        response = (await options.client.api(`/users/${encodeURIComponent(userId)}/checkMemberGroups`).version('v1.0').post({ groupIds })) as { value?: unknown };
      } catch (error) {
        const failure = graphErrorToAppError(error, { action: `check ${options.purpose ?? 'approver'} group membership`, permission: 'GroupMember.Read.All' });
        // An unknown user (404) is simply not an approver; anything else means "cannot tell".
        if (failure.code === 'UPSTREAM_NOT_FOUND') return false;
        throw failure;
      }
      if (Array.isArray(response.value) && response.value.length > 0) return true;
    }
    return false;
  }

  return {
    configured: groups.length > 0 || users.size > 0,
    async isApprover(actor: Actor) {
      const id = actor.aadObjectId?.trim().toLowerCase();
      if (!id || !GUID.test(id)) return false;
      if (users.has(id)) return true;
      if (groups.length === 0) return false;
      const cached = cache.get(id);
      if (cached && cached.until > now()) return cached.allowed;
      const allowed = await memberOfAny(id);
      cache.set(id, { allowed, until: now() + ttl });
      return allowed;
    },
  };
}
