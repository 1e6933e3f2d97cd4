import type { JsonReply } from '../https-json-server.ts';
import type { Tenant, TenantRoleAssignment } from '../tenant.ts';
import { GRAPH_METADATA, graphError, ok, requireRole, type GraphContext } from './common.ts';
import { conjuncts, ODataFilterError, parseFilter } from './odata-filter.ts';

/**
 * /v1.0/roleManagement/directory/roleAssignments (active assignments) and
 * /v1.0/roleManagement/directory/roleEligibilitySchedules (PIM eligibility), with the
 * application permissions and $filter properties the docs list:
 * https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments
 * https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleeligibilityschedules
 * Also which apps may change accountEnabled of a privileged user (user-update, "Who can
 * perform sensitive actions"): only one holding a higher privileged administrator role.
 */

const ASSIGNMENT_READ_ROLES = ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleManagement.ReadWrite.Directory', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const ELIGIBILITY_READ_ROLES = ['RoleEligibilitySchedule.Read.Directory', 'RoleEligibilitySchedule.ReadWrite.Directory', 'RoleManagement.Read.All', 'RoleManagement.Read.Directory', 'RoleManagement.ReadWrite.Directory'];
const FILTERABLE = ['principalId', 'roleDefinitionId', 'directoryScopeId'];

/**
 * Built-in roles that make their holder a "privileged administrator" whose sensitive properties
 * only a higher privileged administrator may change (permissions-reference, PRIVILEGED label).
 */
export const PRIVILEGED_ADMIN_ROLES = new Set([
  '62e90394-69f5-4237-9190-012177145e10', // Global Administrator
  'e8611ab8-c189-46e8-94e1-60213ab1f814', // Privileged Role Administrator
  '7be44c8a-adaf-4e2a-84d6-ab2649e08a13', // Privileged Authentication Administrator
  '194ae4cb-b126-40b2-bd5b-6091b380977d', // Security Administrator
  'fe930be7-5e62-47db-91af-98c3a49a38b1', // User Administrator
  '29232cdf-9323-42fd-ade2-1d097af3e4de', // Exchange Administrator
  'f28a1f50-f6e7-4571-818b-6a12f2af6b6c', // SharePoint Administrator
  '729827e3-9c14-49f7-bb1b-9608f156bbb8', // Helpdesk Administrator
  'c4e39bd9-1100-46d3-8c65-fb160da0071f', // Authentication Administrator
]);
/** Roles that may change sensitive properties of any administrator. */
const HIGHER_ADMIN_ROLES = new Set(['62e90394-69f5-4237-9190-012177145e10', '7be44c8a-adaf-4e2a-84d6-ab2649e08a13']);

function matcher(ctx: GraphContext): ((a: TenantRoleAssignment) => boolean) | JsonReply {
  const text = ctx.req.query.get('$filter');
  if (text === null) return () => true;
  try {
    const atoms = conjuncts(parseFilter(text));
    if (!atoms) throw new ODataFilterError('Invalid filter clause.');
    const tests = atoms.map((atom) => {
      if (atom.kind !== 'compare' || atom.op !== 'eq' || !FILTERABLE.includes(atom.property) || atom.value.type !== 'string') {
        throw new ODataFilterError(`Unsupported query: filter on '${atom.property}'.`);
      }
      const { property } = atom;
      const wanted = atom.value.value.toLowerCase();
      return (a: TenantRoleAssignment) => (property === 'directoryScopeId' ? '/' : String(a[property as 'principalId' | 'roleDefinitionId'])).toLowerCase() === wanted;
    });
    return (a) => tests.every((t) => t(a));
  } catch (error) {
    if (error instanceof ODataFilterError) return graphError(ctx.req, 400, 'BadRequest', error.message);
    throw error;
  }
}

function assignmentBody(a: TenantRoleAssignment): Record<string, unknown> {
  return { id: a.id, principalId: a.principalId, roleDefinitionId: a.roleDefinitionId, directoryScopeId: '/', appScopeId: null };
}

function eligibilityBody(a: TenantRoleAssignment): Record<string, unknown> {
  return {
    ...assignmentBody(a),
    memberType: 'Direct',
    status: a.status ?? 'Provisioned',
    createdUsing: a.id,
    createdDateTime: '2025-03-01T09:00:00Z',
    modifiedDateTime: null,
    scheduleInfo: { startDateTime: '2025-03-01T09:00:00Z', recurrence: null, expiration: { type: 'noExpiration', endDateTime: null, duration: null } },
  };
}

/** Routes under /v1.0/roleManagement/directory; `rest` is the path after it. */
export function routeRoleManagement(ctx: GraphContext, rest: string[]): JsonReply {
  if (ctx.req.method !== 'GET' || rest.length !== 1) return graphError(ctx.req, 400, 'BadRequest', `Resource not found for the segment '${rest.at(-1) ?? 'directory'}'.`);
  const [collection] = rest;
  const eligible = collection === 'roleEligibilitySchedules';
  if (!eligible && collection !== 'roleAssignments') return graphError(ctx.req, 400, 'BadRequest', `Resource not found for the segment '${collection}'.`);
  const denied = requireRole(ctx, eligible ? ELIGIBILITY_READ_ROLES : ASSIGNMENT_READ_ROLES);
  if (denied) return denied;
  // PIM needs Entra ID P2: a tenant without it gets this 400 from the PIM APIs.
  if (eligible && !ctx.tenant.pimLicensed) {
    return graphError(ctx.req, 400, 'AadPremiumLicenseRequired', 'The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.');
  }
  const match = matcher(ctx);
  if (typeof match !== 'function') return match;
  const value = ctx.tenant.roleAssignments.filter((a) => a.how === (eligible ? 'eligible' : 'active') && match(a)).map(eligible ? eligibilityBody : assignmentBody);
  return ok(ctx.req, 200, { '@odata.context': `${GRAPH_METADATA}#roleManagement/directory/${collection}`, value });
}

/** Whether the calling app may change sensitive properties (accountEnabled) of `userId`. */
export function maySetSensitiveProperties(tenant: Tenant, appId: string, userId: string): boolean {
  const active = (principal: string) => tenant.roleAssignments.filter((a) => a.how === 'active' && a.principalId.toLowerCase() === principal.toLowerCase()).map((a) => a.roleDefinitionId.toLowerCase());
  if (!active(userId).some((role) => PRIVILEGED_ADMIN_ROLES.has(role))) return true;
  return active(appId).some((role) => HIGHER_ADMIN_ROLES.has(role));
}
