import { randomUUID } from 'node:crypto';
import type { JsonReply } from '../https-json-server.ts';
import { findOktaUser, type Tenant, type TenantUser } from '../tenant.ts';
import { GRAPH_METADATA, decodeSkipToken, encodeSkipToken, graphError, ok, requireRole, type GraphContext } from './common.ts';

/**
 * /v1.0/security/identities/identityAccounts: Defender for Identity's view of each identity
 * (microsoft.graph.security.user) with its accounts per identity provider and the response
 * actions MDI allows on each, and invokeAction, which MDI runs asynchronously through its
 * sensors' action accounts (AD) or its Entra ID / Okta connectors. The contract:
 * - list:   https://learn.microsoft.com/en-us/graph/api/security-identitycontainer-list-identityaccounts?view=graph-rest-1.0
 *           ($filter, $select; example filter on onPremisesSecurityIdentifier)
 * - get:    https://learn.microsoft.com/en-us/graph/api/security-identityaccounts-get?view=graph-rest-1.0
 * - invoke: https://learn.microsoft.com/en-us/graph/api/security-identityaccounts-invokeaction?view=graph-rest-1.0
 *           body {accountId, action, identityProvider}, answer invokeActionResult with correlationId
 * - types:  https://learn.microsoft.com/en-us/graph/api/resources/security-user?view=graph-rest-1.0,
 *           https://learn.microsoft.com/en-us/graph/api/resources/security-account?view=graph-rest-1.0
 *           (actions per provider: disable/enable AD+Entra+Okta, forcePasswordReset AD,
 *           revokeAllSessions Entra+Okta, requireUserToSignInAgain and markUserAsCompromised Entra)
 * Permissions (application): SecurityIdentitiesAccount.Read.All (list/get),
 * SecurityIdentitiesActions.ReadWrite.All (invokeAction). The docs' examples spell the provider
 * `provider: "ActiveDirectory"`; the schema (and this stand-in) says `identityProvider: "activeDirectory"`.
 */

export const MDI_ACTIONS = ['disable', 'enable', 'forcePasswordReset', 'revokeAllSessions', 'requireUserToSignInAgain', 'markUserAsCompromised'] as const;
export type MdiAction = (typeof MDI_ACTIONS)[number];
export const MDI_PROVIDERS = ['entraID', 'activeDirectory', 'okta'] as const;
export type MdiProvider = (typeof MDI_PROVIDERS)[number];

/** The documented "supported identity providers" of each action (security-account resource page). */
export const MDI_SUPPORTED: Readonly<Record<MdiAction, readonly MdiProvider[]>> = {
  disable: ['activeDirectory', 'entraID', 'okta'],
  enable: ['activeDirectory', 'entraID', 'okta'],
  forcePasswordReset: ['activeDirectory'],
  revokeAllSessions: ['entraID', 'okta'],
  requireUserToSignInAgain: ['entraID'],
  markUserAsCompromised: ['entraID'],
};

const READ_ROLES = ['SecurityIdentitiesAccount.Read.All'];
const ACTION_ROLES = ['SecurityIdentitiesActions.ReadWrite.All'];

/** What MDI's sensor action account does on the DC (the bot harness wires it to the real Samba DC). */
export interface OnPremisesActions {
  setEnabled(sid: string, enabled: boolean): Promise<void>;
  forcePasswordReset(sid: string): Promise<void>;
}

/** Knobs of the MDI side of the Graph stand-in, changeable by tests while it runs. */
export interface MdiSettings {
  /** How long an invoked action takes to show (the real service is asynchronous). */
  delayMs: number;
  /** When true, invoked actions are accepted and never take effect (a sensor that never acts). */
  stuck: boolean;
  onPremises?: OnPremisesActions;
  invocations: { identityId: string; accountId: string; action: MdiAction; identityProvider: MdiProvider; correlationId: string; appId: string; at: string }[];
}

/** MDI's own state of an identity (its AD account's), kept beside the tenant user. */
export interface MdiIdentity {
  id: string;
  adEnabled: boolean;
  adMustChangePassword: boolean;
  /** Not observed by MDI at all (no sensor saw it): absent from the list. */
  unobserved: boolean;
  /** `${provider}:${action}` pairs MDI does not offer for this identity (e.g. no action account in that domain). */
  withheld: Set<string>;
}

const identities = new WeakMap<TenantUser, MdiIdentity>();
export function mdiIdentityOf(user: TenantUser): MdiIdentity {
  let identity = identities.get(user);
  if (!identity) identities.set(user, (identity = { id: randomUUID(), adEnabled: user.accountEnabled, adMustChangePassword: false, unobserved: false, withheld: new Set() }));
  return identity;
}

function accountsOf(tenant: Tenant, user: TenantUser): { identifier: string; identityProvider: MdiProvider; actions: MdiAction[] }[] {
  const identity = mdiIdentityOf(user);
  const listed = (provider: MdiProvider, actions: MdiAction[]) => actions.filter((action) => !identity.withheld.has(`${provider}:${action}`));
  const accounts: { identifier: string; identityProvider: MdiProvider; actions: MdiAction[] }[] = [];
  if (user.onPremisesSecurityIdentifier && user.onPremisesObjectGuid) {
    accounts.push({ identifier: user.onPremisesObjectGuid, identityProvider: 'activeDirectory', actions: listed('activeDirectory', [identity.adEnabled ? 'disable' : 'enable', 'forcePasswordReset']) });
  }
  const entra: MdiAction[] = [user.accountEnabled ? 'disable' : 'enable', 'revokeAllSessions', 'requireUserToSignInAgain'];
  if (user.riskState !== 'confirmedCompromised') entra.push('markUserAsCompromised');
  accounts.push({ identifier: user.id, identityProvider: 'entraID', actions: listed('entraID', entra) });
  const okta = findOktaUser(tenant, user.userPrincipalName);
  if (okta && okta.profile.login.toLowerCase() === user.userPrincipalName.toLowerCase()) {
    const actions: MdiAction[] = okta.status === 'SUSPENDED' ? ['enable', 'revokeAllSessions'] : okta.status === 'ACTIVE' ? ['disable', 'revokeAllSessions'] : ['revokeAllSessions'];
    accounts.push({ identifier: okta.id, identityProvider: 'okta', actions: listed('okta', actions) });
  }
  return accounts;
}

function identityJson(tenant: Tenant, user: TenantUser): Record<string, unknown> {
  const identity = mdiIdentityOf(user);
  return {
    '@odata.type': '#microsoft.graph.security.user',
    id: identity.id,
    displayName: user.displayName,
    domain: user.onPremisesDomainName,
    onPremisesSecurityIdentifier: user.onPremisesSecurityIdentifier,
    cloudSecurityIdentifier: null,
    isEnabled: user.onPremisesSecurityIdentifier ? identity.adEnabled : user.accountEnabled,
    emailAddress: user.mail,
    userPrincipalName: user.userPrincipalName,
    accounts: accountsOf(tenant, user),
  };
}

function observed(tenant: Tenant): TenantUser[] {
  return [...tenant.users.values()].filter((user) => !mdiIdentityOf(user).unobserved);
}

/** `property eq 'value'` on the string properties of the identity; anything else is refused as Graph refuses unsupported filters. */
const FILTERABLE = new Set(['onPremisesSecurityIdentifier', 'userPrincipalName', 'displayName', 'domain', 'id']);
function parseEq(filter: string): { property: string; value: string } | undefined {
  const match = /^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(filter);
  if (!match || !FILTERABLE.has(match[1] as string)) return undefined;
  return { property: match[1] as string, value: (match[2] as string).replaceAll("''", "'") };
}

const PAGE_SIZE = 100;

/** $select as list and get document it; an unknown property is refused as Graph refuses it. */
function selected(req: GraphContext['req'], json: Record<string, unknown>): Record<string, unknown> | JsonReply {
  const select = req.query.get('$select');
  if (select === null) return json;
  const wanted = select.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = wanted.find((name) => !(name in json));
  if (unknown) return graphError(req, 400, 'BadRequest', `Could not find a property named '${unknown}' on type 'microsoft.graph.security.identityAccounts'.`);
  return Object.fromEntries(Object.entries(json).filter(([key]) => key === '@odata.type' || wanted.includes(key)));
}
const isReply = (value: unknown): value is JsonReply => typeof value === 'object' && value !== null && 'status' in value && typeof (value as JsonReply).status === 'number';

export function routeIdentityAccounts(ctx: GraphContext, rest: string[]): JsonReply {
  const { req, tenant } = ctx;
  const [id, operation, extra] = rest;
  if (extra !== undefined) return graphError(req, 400, 'BadRequest', `Resource not found for the segment '${extra}'.`);
  if (operation === 'invokeAction') {
    if (req.method !== 'POST') return graphError(req, 405, 'MethodNotAllowed', 'The HTTP method is not allowed for this resource.');
    return invokeAction(ctx, id as string);
  }
  if (operation !== undefined) return graphError(req, 400, 'BadRequest', `Resource not found for the segment '${operation}'.`);
  if (req.method !== 'GET') return graphError(req, 405, 'MethodNotAllowed', 'The HTTP method is not allowed for this resource.');
  const denied = requireRole(ctx, READ_ROLES, 'security');
  if (denied) return denied;
  if (id !== undefined) {
    const user = observed(tenant).find((u) => mdiIdentityOf(u).id === id);
    if (!user) return graphError(req, 404, 'NotFound', `Identity account '${id}' was not found.`);
    const one = selected(req, identityJson(tenant, user));
    if (isReply(one)) return one;
    return ok(req, 200, { '@odata.context': `${GRAPH_METADATA}#security/identities/identityAccounts/$entity`, ...one });
  }
  let users = observed(tenant);
  const filter = req.query.get('$filter');
  if (filter !== null) {
    const eq = parseEq(filter);
    if (!eq) return graphError(req, 400, 'BadRequest', `Invalid filter clause: ${filter}`);
    users = users.filter((user) => {
      const value = identityJson(tenant, user)[eq.property];
      return typeof value === 'string' && value.toLowerCase() === eq.value.toLowerCase();
    });
  }
  const skip = Number(decodeSkipToken(req.query.get('$skiptoken') ?? '')?.skip ?? 0);
  const page = users.slice(skip, skip + PAGE_SIZE);
  const select = req.query.get('$select');
  const next = skip + PAGE_SIZE < users.length ? `${ctx.baseUrl}/v1.0/security/identities/identityAccounts?${new URLSearchParams({ ...(filter !== null ? { $filter: filter } : {}), ...(select !== null ? { $select: select } : {}), $skiptoken: encodeSkipToken({ skip: skip + PAGE_SIZE }) })}` : undefined;
  const value: Record<string, unknown>[] = [];
  for (const user of page) {
    const one = selected(req, identityJson(tenant, user));
    if (isReply(one)) return one;
    value.push(one);
  }
  return ok(req, 200, { '@odata.context': `${GRAPH_METADATA}#security/identities/identityAccounts`, value, ...(next ? { '@odata.nextLink': next } : {}) });
}

function invokeAction(ctx: GraphContext, id: string): JsonReply {
  const { req, tenant } = ctx;
  const denied = requireRole(ctx, ACTION_ROLES, 'security');
  if (denied) return denied;
  const body = req.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return graphError(req, 400, 'BadRequest', 'The request body is missing or is not a JSON object.');
  const { accountId, action, identityProvider, ...unknown } = body as Record<string, unknown>;
  const stray = Object.keys(unknown)[0];
  if (stray !== undefined) return graphError(req, 400, 'BadRequest', `The property '${stray}' does not exist on type 'microsoft.graph.security.invokeAction'.`);
  for (const [name, value] of [['accountId', accountId], ['action', action], ['identityProvider', identityProvider]] as const) {
    if (typeof value !== 'string' || value === '') return graphError(req, 400, 'BadRequest', `The parameter '${name}' is required.`);
  }
  if (!(MDI_ACTIONS as readonly string[]).includes(action as string)) return graphError(req, 400, 'BadRequest', `Requested value '${String(action)}' was not found.`);
  if (!(MDI_PROVIDERS as readonly string[]).includes(identityProvider as string)) return graphError(req, 400, 'BadRequest', `Requested value '${String(identityProvider)}' was not found.`);
  const act = action as MdiAction;
  const provider = identityProvider as MdiProvider;
  const user = observed(tenant).find((u) => mdiIdentityOf(u).id === id);
  if (!user) return graphError(req, 404, 'NotFound', `Identity account '${id}' was not found.`);
  if (!MDI_SUPPORTED[act].includes(provider)) return graphError(req, 400, 'BadRequest', `Action '${act}' is not supported for identity provider '${provider}'.`);
  const account = accountsOf(tenant, user).find((a) => a.identityProvider === provider && a.identifier.toLowerCase() === (accountId as string).toLowerCase());
  if (!account) return graphError(req, 404, 'NotFound', `Account '${String(accountId)}' of identity provider '${provider}' was not found on identity account '${id}'.`);
  if (!account.actions.includes(act)) return graphError(req, 400, 'BadRequest', `Action '${act}' is not available for account '${account.identifier}'.`);
  const correlationId = randomUUID();
  ctx.mdi.invocations.push({ identityId: id, accountId: account.identifier, action: act, identityProvider: provider, correlationId, appId: ctx.appId, at: ctx.now().toISOString() });
  if (!ctx.mdi.stuck) {
    const timer = setTimeout(() => void apply(ctx, user, provider, act).catch(() => undefined), ctx.mdi.delayMs);
    timer.unref();
  }
  return ok(req, 200, {
    '@odata.context': `${GRAPH_METADATA}#microsoft.graph.security.invokeActionResult`,
    value: { '@odata.type': '#microsoft.graph.security.invokeActionResult', accountId: account.identifier, action: act, identityProvider: provider, correlationId },
  });
}

/** The effect, once MDI got round to it. */
async function apply(ctx: GraphContext, user: TenantUser, provider: MdiProvider, action: MdiAction): Promise<void> {
  const identity = mdiIdentityOf(user);
  const now = ctx.now().toISOString();
  if (provider === 'activeDirectory') {
    const sid = user.onPremisesSecurityIdentifier as string;
    if (action === 'forcePasswordReset') {
      await ctx.mdi.onPremises?.forcePasswordReset(sid);
      identity.adMustChangePassword = true;
    } else {
      await ctx.mdi.onPremises?.setEnabled(sid, action === 'enable');
      identity.adEnabled = action === 'enable';
    }
    return;
  }
  if (provider === 'entraID') {
    if (action === 'disable' || action === 'enable') user.accountEnabled = action === 'enable';
    else if (action === 'revokeAllSessions' || action === 'requireUserToSignInAgain') user.signInSessionsValidFromDateTime = now;
    else if (action === 'markUserAsCompromised') Object.assign(user, { riskState: 'confirmedCompromised', riskLevel: 'high', riskDetail: 'adminConfirmedUserCompromised', riskLastUpdatedDateTime: now });
    return;
  }
  const okta = findOktaUser(ctx.tenant, user.userPrincipalName);
  if (!okta) return;
  if (action === 'disable') okta.status = 'SUSPENDED';
  else if (action === 'enable') okta.status = 'ACTIVE';
  else if (action === 'revokeAllSessions') Object.assign(okta, { sessionCount: 0, oauthTokenCount: 0 });
  okta.lastUpdated = now;
}
