import type { GraphRequest } from '@microsoft/microsoft-graph-client';
import { GraphError, graphErrorToAppError, type GraphClient } from './graph-client.ts';

/**
 * Whether an Entra user is privileged, from the sources of truth: directory roles and groups.
 *
 * Which Entra directory roles a user holds, active and PIM-eligible, read from Graph role
 * management (v1.0):
 * - active: GET /roleManagement/directory/roleAssignments?$filter=principalId eq '{id}'
 *   (https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments, RoleManagement.Read.Directory)
 * - eligible: GET /roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '{id}'
 *   (https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleeligibilityschedules, RoleEligibilitySchedule.Read.Directory)
 * For built-in roles roleDefinitionId is the role's template id, the same in every tenant.
 * Roles given to a role-assignable group are held by the group, not listed under the user: name
 * such groups in ENTRA_PRIVILEGED_GROUP_IDS.
 */

/**
 * Built-in roles counted as privileged by default (template ids from
 * https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference).
 */
export const DEFAULT_PRIVILEGED_ROLES: Readonly<Record<string, string>> = {
  '62e90394-69f5-4237-9190-012177145e10': 'Global Administrator',
  'e8611ab8-c189-46e8-94e1-60213ab1f814': 'Privileged Role Administrator',
  '7be44c8a-adaf-4e2a-84d6-ab2649e08a13': 'Privileged Authentication Administrator',
  '194ae4cb-b126-40b2-bd5b-6091b380977d': 'Security Administrator',
  'fe930be7-5e62-47db-91af-98c3a49a38b1': 'User Administrator',
  '29232cdf-9323-42fd-ade2-1d097af3e4de': 'Exchange Administrator',
  'f28a1f50-f6e7-4571-818b-6a12f2af6b6c': 'SharePoint Administrator',
  '729827e3-9c14-49f7-bb1b-9608f156bbb8': 'Helpdesk Administrator',
  'c4e39bd9-1100-46d3-8c65-fb160da0071f': 'Authentication Administrator',
  '966707d0-3269-4727-9be2-8c3a10f19b9d': 'Password Administrator',
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3': 'Application Administrator',
  '158c047a-c907-4556-b7ef-446551a6b5f7': 'Cloud Application Administrator',
  '8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2': 'Hybrid Identity Administrator',
  'b1be1c3e-b65d-4f19-8427-f6fa0d97feb9': 'Conditional Access Administrator',
  '3a2c62db-5318-420d-8d74-23affee5d9d5': 'Intune Administrator',
  'fdd7a751-b60b-444a-984c-02652fe8fa1c': 'Groups Administrator',
  '8329153b-31d0-4727-b945-745eb3bc5f31': 'Domain Name Administrator',
  'e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8': 'Partner Tier2 Support',
  'd29b2b05-8046-44ba-8758-1e26182fcf32': 'Directory Synchronization Accounts',
};

export interface HeldRole {
  roleDefinitionId: string;
  name: string;
  how: 'active' | 'eligible';
}

interface Page {
  value?: Array<{ roleDefinitionId?: unknown; principalId?: unknown; status?: unknown }>;
  '@odata.nextLink'?: unknown;
}

const MAX_PAGES = 20;

/** The privileged roles (of `roleIds`) `userId` holds, active or eligible; throws AppError when Graph cannot say. */
export async function privilegedRolesOf(
  client: GraphClient,
  user: { id: string; userPrincipalName: string },
  roleIds: ReadonlySet<string>,
  withSignal: (request: GraphRequest) => GraphRequest,
): Promise<HeldRole[]> {
  if (roleIds.size === 0) return [];
  const filter = `principalId eq '${user.id.replaceAll("'", "''")}'`;
  const sources = [
    { path: '/roleManagement/directory/roleAssignments', how: 'active' as const, permission: 'RoleManagement.Read.Directory', what: 'active directory roles' },
    { path: '/roleManagement/directory/roleEligibilitySchedules', how: 'eligible' as const, permission: 'RoleEligibilitySchedule.Read.Directory', what: 'PIM-eligible directory roles' },
  ];
  const held: HeldRole[] = [];
  for (const source of sources) {
    try {
      let page = (await withSignal(client.api(source.path).filter(filter)).get()) as Page;
      for (let pages = 1; ; pages += 1) {
        for (const item of page.value ?? []) {
          const id = typeof item.roleDefinitionId === 'string' ? item.roleDefinitionId.toLowerCase() : '';
          // An eligibility whose schedule was revoked or expired is no longer held.
          if (source.how === 'eligible' && typeof item.status === 'string' && item.status !== 'Provisioned') continue;
          if (roleIds.has(id) && !held.some((h) => h.roleDefinitionId === id && h.how === source.how)) {
            held.push({ roleDefinitionId: id, name: DEFAULT_PRIVILEGED_ROLES[id] ?? `role ${id}`, how: source.how });
          }
        }
        const next = page['@odata.nextLink'];
        if (typeof next !== 'string' || next === '' || pages >= MAX_PAGES) break;
        page = (await withSignal(client.api(next)).get()) as Page;
      }
    } catch (error) {
      // A tenant without Entra ID P2 (PIM) answers 400 AadPremiumLicenseRequired: it cannot have
      // eligible assignments, so there is nothing to count. Any other failure leaves the answer open.
      if (source.how === 'eligible' && error instanceof GraphError && error.statusCode === 400 && error.code === 'AadPremiumLicenseRequired') continue;
      throw graphErrorToAppError(error, { action: `read the ${source.what} of ${user.userPrincipalName}`, permission: source.permission });
    }
  }
  return held;
}

/** "holds the Entra role Global Administrator (eligible through PIM)". */
export function roleReason(role: HeldRole): string {
  return `holds the Entra role ${role.name}${role.how === 'eligible' ? ' (eligible through PIM)' : ''}`;
}

/**
 * The configured privileged groups `user` is a transitive member of, by POST checkMemberGroups
 * (https://learn.microsoft.com/en-us/graph/api/directoryobject-checkmembergroups, at most 20 ids per call).
 */
export async function privilegedGroupReasons(
  client: GraphClient,
  user: { id: string; userPrincipalName: string },
  groups: ReadonlyArray<{ id: string; name?: string }>,
  withSignal: (request: GraphRequest) => GraphRequest,
): Promise<string[]> {
  const reasons: string[] = [];
  // Sequential keeps us polite to Graph.
  for (let i = 0; i < groups.length; i += 20) {
    const chunk = groups.slice(i, i + 20);
    let matched: string[];
    try {
      const reply = (await withSignal(client.api(`/users/${encodeURIComponent(user.id)}/checkMemberGroups`)).post({ groupIds: chunk.map((g) => g.id) })) as { value?: string[] };
      matched = reply.value ?? [];
    } catch (error) {
      throw graphErrorToAppError(error, { action: `check the group memberships of ${user.userPrincipalName}`, permission: 'GroupMember.Read.All' });
    }
    for (const group of chunk) if (matched.includes(group.id)) reasons.push(`member of the privileged Entra group ${group.name ?? group.id}`);
  }
  return reasons;
}
