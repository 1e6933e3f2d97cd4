import type { JsonReply } from '../https-json-server.ts';
import { findUser, transitiveGroupIds, type TenantUser } from '../tenant.ts';
import { decodeSkipToken, encodeSkipToken, GRAPH_METADATA, graphError, ok, requireRole, type GraphContext } from './common.ts';
import { ODataFilterError, parseFilter } from './odata-filter.ts';
import { maySetSensitiveProperties } from './roles-routes.ts';

/**
 * /v1.0/users and /v1.0/identityProtection/riskyUsers: lookups, disable/enable, session
 * revocation, risk confirmation and transitive group checks, with Graph's documented refusals
 * (synced users, unsupported filters, more than 20 group ids, missing permissions).
 */

const READ_ROLES = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const ENABLE_DISABLE_ROLES = ['User.EnableDisableAccount.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
const REVOKE_ROLES = ['User.RevokeSessions.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
const GROUP_READ_ROLES = ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const RISK_READ_ROLES = ['IdentityRiskyUser.Read.All', 'IdentityRiskyUser.ReadWrite.All'];
const RISK_WRITE_ROLES = ['IdentityRiskyUser.ReadWrite.All'];
/** passwordProfile, app-only: https://learn.microsoft.com/en-us/graph/api/user-update (least privileged first). */
const PASSWORD_PROFILE_ROLES = ['User-PasswordProfile.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];

/**
 * The password profile of each tenant user (https://learn.microsoft.com/en-us/graph/api/resources/passwordprofile):
 * Graph never returns the password itself, only the flags.
 */
const passwordProfiles = new WeakMap<TenantUser, { forceChangePasswordNextSignIn: boolean; forceChangePasswordNextSignInWithMfa: boolean }>();
export function passwordProfileOf(user: TenantUser): { forceChangePasswordNextSignIn: boolean; forceChangePasswordNextSignInWithMfa: boolean } {
  let profile = passwordProfiles.get(user);
  if (!profile) passwordProfiles.set(user, (profile = { forceChangePasswordNextSignIn: false, forceChangePasswordNextSignInWithMfa: false }));
  return profile;
}

/** What GET /users returns without $select (v1.0 default set). */
const DEFAULT_PROPERTIES = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id'];
const SELECTABLE = new Set([
  ...DEFAULT_PROPERTIES,
  'accountEnabled',
  'department',
  'onPremisesSyncEnabled',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesDomainName',
  'onPremisesUserPrincipalName',
  'onPremisesDistinguishedName',
  'onPremisesImmutableId',
  'signInSessionsValidFromDateTime',
  'userType',
  'createdDateTime',
  // Returned only on $select (https://learn.microsoft.com/en-us/graph/api/resources/user).
  'passwordProfile',
]);

function graphUser(user: TenantUser): Record<string, unknown> {
  return {
    id: user.id,
    businessPhones: [],
    displayName: user.displayName,
    givenName: user.givenName,
    jobTitle: user.jobTitle,
    mail: user.mail,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: user.surname,
    userPrincipalName: user.userPrincipalName,
    accountEnabled: user.accountEnabled,
    department: user.department,
    onPremisesSyncEnabled: user.onPremisesSyncEnabled,
    onPremisesSamAccountName: user.onPremisesSamAccountName,
    onPremisesSecurityIdentifier: user.onPremisesSecurityIdentifier,
    onPremisesDomainName: user.onPremisesDomainName,
    onPremisesUserPrincipalName: user.onPremisesUserPrincipalName,
    onPremisesDistinguishedName: user.onPremisesDistinguishedName,
    onPremisesImmutableId: user.onPremisesObjectGuid ? Buffer.from(user.onPremisesObjectGuid.replaceAll('-', ''), 'hex').toString('base64') : null,
    signInSessionsValidFromDateTime: user.signInSessionsValidFromDateTime,
    userType: 'Member',
    createdDateTime: '2025-03-01T09:00:00Z',
    passwordProfile: { password: null, ...passwordProfileOf(user) },
  };
}

/** Parses $select; returns the property list or an error reply. */
function selection(ctx: GraphContext): string[] | JsonReply {
  const select = ctx.req.query.get('$select');
  if (select === null) return DEFAULT_PROPERTIES;
  const props = select.split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = props.find((p) => !SELECTABLE.has(p));
  if (unknown) return graphError(ctx.req, 400, 'Request_BadRequest', `Could not find a property named '${unknown}' on type 'microsoft.graph.user'.`);
  return props;
}

function project(user: TenantUser, props: string[]): Record<string, unknown> {
  const full = graphUser(user);
  return Object.fromEntries(props.map((p) => [p, full[p] ?? null]));
}

function contextFor(props: string[], select: boolean, entity: boolean): string {
  return `${GRAPH_METADATA}#users${select ? `(${props.join(',')})` : ''}${entity ? '/$entity' : ''}`;
}

type UserPredicate = (user: TenantUser) => boolean;

/**
 * The user filters real Graph serves without advanced query parameters, plus
 * onPremisesSamAccountName which it serves only with ConsistencyLevel: eventual and $count=true.
 */
function compileUserFilter(text: string, advanced: boolean): UserPredicate {
  const expr = parseFilter(text);
  const lower = (v: unknown) => String(v ?? '').toLowerCase();
  if (expr.kind === 'call') {
    if (expr.fn !== 'startswith' || !['displayName', 'userPrincipalName', 'mail', 'givenName', 'surname'].includes(expr.property) || expr.value.type !== 'string') {
      throw new ODataFilterError(`Unsupported or invalid query filter clause specified for property '${expr.property}' of resource 'User'.`);
    }
    const prefix = expr.value.value.toLowerCase();
    const property = expr.property;
    return (user) => lower(graphUser(user)[property]).startsWith(prefix);
  }
  if (expr.kind === 'compare' && expr.op === 'eq') {
    const { property, value } = expr;
    if (property === 'accountEnabled' && value.type === 'boolean') return (user) => user.accountEnabled === value.value;
    const stringProps = ['userPrincipalName', 'mail', 'displayName', 'id', 'onPremisesSamAccountName', 'onPremisesSecurityIdentifier'];
    if (stringProps.includes(property) && value.type === 'string') {
      if (property === 'onPremisesSamAccountName' && !advanced) {
        throw new ODataFilterError(`Unsupported or invalid query filter clause specified for property '${property}' of resource 'User'.`);
      }
      const wanted = value.value.toLowerCase();
      return (user) => lower(graphUser(user)[property]) === wanted;
    }
  }
  const property = expr.kind === 'compare' ? expr.property : '';
  throw new ODataFilterError(`Unsupported or invalid query filter clause specified for property '${property}' of resource 'User'.`);
}

function listUsers(ctx: GraphContext): JsonReply {
  const denied = requireRole(ctx, READ_ROLES);
  if (denied) return denied;
  const q = ctx.req.query;
  const props = selection(ctx);
  if (!Array.isArray(props)) return props;
  const advanced = String(ctx.req.headers.consistencylevel ?? '').toLowerCase() === 'eventual' && q.get('$count') === 'true';
  const token = q.get('$skiptoken');
  const state = token === null ? { offset: 0 } : decodeSkipToken(token);
  if (!state || typeof state.offset !== 'number') return graphError(ctx.req, 400, 'Request_BadRequest', 'Invalid $skiptoken.');
  const topText = q.get('$top');
  const top = topText === null ? 100 : Number(topText);
  if (!Number.isInteger(top) || top < 1 || top > 999) return graphError(ctx.req, 400, 'Request_BadRequest', `Invalid page size specified: '${topText}'. Must be between 1 and 999 inclusive.`);
  let predicate: UserPredicate = () => true;
  const filter = q.get('$filter');
  if (filter !== null) {
    try {
      predicate = compileUserFilter(filter, advanced);
    } catch (error) {
      if (error instanceof ODataFilterError) return graphError(ctx.req, 400, error.message.startsWith('Unsupported') ? 'Request_UnsupportedQuery' : 'BadRequest', error.message);
      throw error;
    }
  }
  const matching = [...ctx.tenant.users.values()].filter(predicate);
  const offset = state.offset as number;
  const body: Record<string, unknown> = { '@odata.context': contextFor(props, q.has('$select'), false) };
  if (advanced) body['@odata.count'] = matching.length;
  if (offset + top < matching.length) {
    const next = new URL(`${ctx.baseUrl}/v1.0/users`);
    for (const [key, value] of q) if (key !== '$skiptoken') next.searchParams.set(key, value);
    next.searchParams.set('$skiptoken', encodeSkipToken({ offset: offset + top }));
    body['@odata.nextLink'] = next.toString();
  }
  body.value = matching.slice(offset, offset + top).map((u) => project(u, props));
  return ok(ctx.req, 200, body);
}

function notFound(ctx: GraphContext, id: string): JsonReply {
  return graphError(ctx.req, 404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
}

/** Properties a synced (on-premises mastered) user refuses to have changed in the cloud. */
const ON_PREMISES_MASTERED = new Set(['passwordProfile', 'accountEnabled', 'displayName', 'givenName', 'surname', 'jobTitle', 'department', 'mail', 'userPrincipalName', 'onPremisesImmutableId']);
const PATCHABLE = new Set([...ON_PREMISES_MASTERED, 'usageLocation', 'preferredLanguage']);

function patchUser(ctx: GraphContext, user: TenantUser): JsonReply {
  const body = ctx.req.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return graphError(ctx.req, 400, 'BadRequest', 'Empty Payload. JSON content expected.');
  const changes = body as Record<string, unknown>;
  const keys = Object.keys(changes);
  const roles = keys.every((k) => k === 'accountEnabled') ? ENABLE_DISABLE_ROLES : keys.every((k) => k === 'passwordProfile') ? PASSWORD_PROFILE_ROLES : ['User.ReadWrite.All', 'Directory.ReadWrite.All'];
  const denied = requireRole(ctx, roles);
  if (denied) return denied;
  const invalid = keys.find((k) => !PATCHABLE.has(k));
  if (invalid) return graphError(ctx.req, 400, 'Request_BadRequest', `Invalid property '${invalid}'.`);
  if ('accountEnabled' in changes && typeof changes.accountEnabled !== 'boolean') {
    return graphError(ctx.req, 400, 'Request_BadRequest', "Invalid value specified for property 'accountEnabled' of resource 'User'.");
  }
  const profile = changes.passwordProfile as Record<string, unknown> | undefined;
  if ('passwordProfile' in changes) {
    const flags = ['forceChangePasswordNextSignIn', 'forceChangePasswordNextSignInWithMfa'];
    const bad = !profile || typeof profile !== 'object' || Array.isArray(profile) ? 'passwordProfile' : Object.keys(profile).find((k) => !(flags.includes(k) ? typeof profile[k] === 'boolean' : k === 'password' && typeof profile[k] === 'string'));
    if (bad) return graphError(ctx.req, 400, 'Request_BadRequest', `Invalid value specified for property '${bad}' of resource 'User'.`);
  }
  if (user.onPremisesSyncEnabled === true && keys.some((k) => ON_PREMISES_MASTERED.has(k))) {
    return graphError(ctx.req, 400, 'Request_BadRequest', 'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.');
  }
  // Graph: accountEnabled of a privileged administrator needs the app to hold a higher
  // privileged administrator role, whatever its permissions; the refusal names no role.
  if (('accountEnabled' in changes || 'passwordProfile' in changes) && !maySetSensitiveProperties(ctx.tenant, ctx.appId, user.id)) {
    return graphError(ctx.req, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
  const now = ctx.now().toISOString();
  if (typeof changes.accountEnabled === 'boolean') {
    ctx.actions.push({ kind: changes.accountEnabled ? 'enableUser' : 'disableUser', target: user.id, at: now, appId: ctx.appId });
    user.accountEnabled = changes.accountEnabled;
  }
  if (profile) {
    // Only the flags are kept: a password sent here is never stored or echoed by the stand-in.
    const current = passwordProfileOf(user);
    if (typeof profile.forceChangePasswordNextSignIn === 'boolean') current.forceChangePasswordNextSignIn = profile.forceChangePasswordNextSignIn;
    if (typeof profile.forceChangePasswordNextSignInWithMfa === 'boolean') current.forceChangePasswordNextSignInWithMfa = profile.forceChangePasswordNextSignInWithMfa;
  }
  for (const key of ['displayName', 'jobTitle', 'department', 'mail'] as const) {
    if (typeof changes[key] === 'string') user[key] = changes[key];
  }
  return ok(ctx.req, 204);
}

function revokeSessions(ctx: GraphContext, user: TenantUser): JsonReply {
  const denied = requireRole(ctx, REVOKE_ROLES);
  if (denied) return denied;
  const now = ctx.now().toISOString();
  user.signInSessionsValidFromDateTime = now.replace(/\.\d+Z$/, 'Z');
  ctx.actions.push({ kind: 'revokeSignInSessions', target: user.id, at: now, appId: ctx.appId });
  return ok(ctx.req, 200, { '@odata.context': `${GRAPH_METADATA}#Edm.Boolean`, value: true });
}

function checkMemberGroups(ctx: GraphContext, user: TenantUser): JsonReply {
  const denied = requireRole(ctx, READ_ROLES) ?? requireRole(ctx, GROUP_READ_ROLES);
  if (denied) return denied;
  const groupIds = (ctx.req.body as { groupIds?: unknown } | undefined)?.groupIds;
  if (!Array.isArray(groupIds) || groupIds.length === 0 || !groupIds.every((g) => typeof g === 'string')) {
    return graphError(ctx.req, 400, 'Request_BadRequest', "Invalid value specified for property 'groupIds' of resource 'checkMemberGroups'.");
  }
  if (groupIds.length > 20) {
    return graphError(ctx.req, 400, 'Request_BadRequest', 'The number of groupIds in the request exceeds the limit of 20.');
  }
  const memberOf = transitiveGroupIds(ctx.tenant, user.id);
  return ok(ctx.req, 200, { '@odata.context': `${GRAPH_METADATA}#Collection(Edm.String)`, value: groupIds.filter((g) => memberOf.has(g)) });
}

/** Routes under /v1.0/users; `rest` is the path after it. */
export function routeUsers(ctx: GraphContext, rest: string[]): JsonReply {
  const method = ctx.req.method;
  if (rest.length === 0) {
    if (method === 'GET') return listUsers(ctx);
    return graphError(ctx.req, 405, 'Request_BadRequest', `The HTTP method '${method}' is not supported here.`);
  }
  const key = decodeURIComponent(rest[0] as string);
  const user = findUser(ctx.tenant, key);
  if (rest.length === 1 && method === 'GET') {
    const denied = requireRole(ctx, READ_ROLES);
    if (denied) return denied;
    if (!user) return notFound(ctx, key);
    const props = selection(ctx);
    if (!Array.isArray(props)) return props;
    return ok(ctx.req, 200, { '@odata.context': contextFor(props, ctx.req.query.has('$select'), true), ...project(user, props) });
  }
  if (!user) {
    const denied = requireRole(ctx, READ_ROLES);
    return denied ?? notFound(ctx, key);
  }
  if (rest.length === 1 && method === 'PATCH') return patchUser(ctx, user);
  if (rest.length === 2 && method === 'POST' && rest[1] === 'revokeSignInSessions') return revokeSessions(ctx, user);
  if (rest.length === 2 && method === 'POST' && rest[1] === 'checkMemberGroups') return checkMemberGroups(ctx, user);
  return graphError(ctx.req, 400, 'BadRequest', `Resource not found for the segment '${rest.at(-1)}'.`);
}

function riskyUser(user: TenantUser): Record<string, unknown> {
  return {
    id: user.id,
    isDeleted: false,
    isProcessing: false,
    riskLastUpdatedDateTime: user.riskLastUpdatedDateTime,
    riskLevel: user.riskLevel,
    riskState: user.riskState,
    riskDetail: user.riskDetail,
    userDisplayName: user.displayName,
    userPrincipalName: user.userPrincipalName,
  };
}

function setRisk(ctx: GraphContext, kind: 'confirmCompromised' | 'dismissRisk'): JsonReply {
  const denied = requireRole(ctx, RISK_WRITE_ROLES, 'security');
  if (denied) return denied;
  const userIds = (ctx.req.body as { userIds?: unknown } | undefined)?.userIds;
  if (!Array.isArray(userIds) || userIds.length === 0 || !userIds.every((u) => typeof u === 'string')) {
    return graphError(ctx.req, 400, 'BadRequest', "The request body must contain a non-empty 'userIds' array.");
  }
  // Identity Protection takes object ids only (not UPNs).
  const users = userIds.map((id) => ctx.tenant.users.get(id));
  const missing = userIds.find((_, i) => !users[i]);
  if (missing !== undefined) return graphError(ctx.req, 400, 'BadRequest', `Invalid user id '${missing}'.`);
  const now = ctx.now().toISOString();
  for (const user of users as TenantUser[]) {
    if (kind === 'confirmCompromised') {
      user.riskLevel = 'high';
      user.riskState = 'confirmedCompromised';
      user.riskDetail = 'adminConfirmedUserCompromised';
    } else {
      user.riskLevel = 'none';
      user.riskState = 'dismissed';
      user.riskDetail = 'adminDismissedAllRiskForUser';
    }
    user.riskLastUpdatedDateTime = now;
    ctx.actions.push({ kind, target: user.id, at: now, appId: ctx.appId });
  }
  return ok(ctx.req, 204);
}

/** Routes under /v1.0/identityProtection/riskyUsers. */
export function routeRiskyUsers(ctx: GraphContext, rest: string[]): JsonReply {
  const method = ctx.req.method;
  if (rest.length === 1 && method === 'POST' && rest[0] === 'confirmCompromised') return setRisk(ctx, 'confirmCompromised');
  if (rest.length === 1 && method === 'POST' && rest[0] === 'dismiss') return setRisk(ctx, 'dismissRisk');
  const denied = requireRole(ctx, RISK_READ_ROLES, 'security');
  if (denied) return denied;
  if (rest.length === 0 && method === 'GET') {
    const value = [...ctx.tenant.users.values()].filter((u) => u.riskLastUpdatedDateTime !== null || u.riskState !== 'none').map(riskyUser);
    return ok(ctx.req, 200, { '@odata.context': `${GRAPH_METADATA}#identityProtection/riskyUsers`, value });
  }
  if (rest.length === 1 && method === 'GET') {
    const id = decodeURIComponent(rest[0] as string);
    const user = ctx.tenant.users.get(id);
    // A user Identity Protection never scored has no riskyUser record.
    if (!user || (user.riskLastUpdatedDateTime === null && user.riskState === 'none')) {
      return graphError(ctx.req, 404, 'NotFound', `The riskyUser with id '${id}' was not found.`);
    }
    return ok(ctx.req, 200, { '@odata.context': `${GRAPH_METADATA}#identityProtection/riskyUsers/$entity`, ...riskyUser(user) });
  }
  return graphError(ctx.req, 400, 'BadRequest', `Resource not found for the segment '${rest.at(-1) ?? 'riskyUsers'}'.`);
}
