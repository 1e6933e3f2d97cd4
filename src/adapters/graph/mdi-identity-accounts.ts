import { RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { AppError } from '../../domain/errors.ts';
import type { ActionTarget } from '../../domain/remediation.ts';
import { withSignal } from './entra-users.ts';
import { graphErrorToAppError, type GraphClient } from './graph-client.ts';

/**
 * Defender for Identity's identity accounts through Microsoft Graph v1.0:
 * GET /security/identities/identityAccounts (each identity with its accounts per identity
 * provider and the response actions MDI allows on each) and POST …/{id}/invokeAction.
 * Contract: https://learn.microsoft.com/en-us/graph/api/security-identitycontainer-list-identityaccounts?view=graph-rest-1.0,
 * https://learn.microsoft.com/en-us/graph/api/security-identityaccounts-invokeaction?view=graph-rest-1.0,
 * https://learn.microsoft.com/en-us/graph/api/resources/security-account?view=graph-rest-1.0.
 * Permissions: SecurityIdentitiesAccount.Read.All (list/get), SecurityIdentitiesActions.ReadWrite.All (invokeAction).
 */
export type MdiAction = 'disable' | 'enable' | 'forcePasswordReset' | 'revokeAllSessions' | 'requireUserToSignInAgain' | 'markUserAsCompromised';
export type MdiProvider = 'activeDirectory' | 'entraID' | 'okta';

export interface MdiAccount {
  identifier: string;
  identityProvider: MdiProvider;
  actions: MdiAction[];
}

export interface MdiIdentity {
  id: string;
  displayName?: string;
  domain?: string;
  onPremisesSecurityIdentifier?: string;
  userPrincipalName?: string;
  isEnabled?: boolean;
  accounts: MdiAccount[];
}

export const MDI_PERMISSIONS = { read: 'SecurityIdentitiesAccount.Read.All', act: 'SecurityIdentitiesActions.ReadWrite.All' } as const;

const PROVIDERS: Record<string, MdiProvider> = { activedirectory: 'activeDirectory', entraid: 'entraID', okta: 'okta' };
const ACTIONS: Record<string, MdiAction> = {
  disable: 'disable',
  enable: 'enable',
  forcepasswordreset: 'forcePasswordReset',
  revokeallsessions: 'revokeAllSessions',
  requireusertosigninagain: 'requireUserToSignInAgain',
  markuserascompromised: 'markUserAsCompromised',
};

/** Most identities a scan reads (pages of the list) before giving up on finding one by object id or UPN. */
const MAX_SCAN_PAGES = 50;

/**
 * The documented schema names the provider `identityProvider` in camelCase; the documented
 * examples answer `provider: "ActiveDirectory"` and actions like "Enable": both are read.
 */
function parseIdentity(raw: unknown): MdiIdentity | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const o = raw as Record<string, unknown>;
  if (typeof o.id !== 'string') return undefined;
  const accounts: MdiAccount[] = [];
  for (const entry of Array.isArray(o.accounts) ? o.accounts : []) {
    if (!entry || typeof entry !== 'object') continue;
    const a = entry as Record<string, unknown>;
    const provider = PROVIDERS[String(a.identityProvider ?? a.provider ?? '').toLowerCase()];
    if (!provider || typeof a.identifier !== 'string') continue;
    const actions = (Array.isArray(a.actions) ? a.actions : []).map((x) => ACTIONS[String(x).toLowerCase()]).filter((x): x is MdiAction => x !== undefined);
    accounts.push({ identifier: a.identifier, identityProvider: provider, actions });
  }
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    id: o.id,
    ...(text(o.displayName) ? { displayName: text(o.displayName) } : {}),
    ...(text(o.domain) ? { domain: text(o.domain) } : {}),
    ...(text(o.onPremisesSecurityIdentifier) ? { onPremisesSecurityIdentifier: text(o.onPremisesSecurityIdentifier) } : {}),
    ...(text(o.userPrincipalName) ? { userPrincipalName: text(o.userPrincipalName) } : {}),
    ...(typeof o.isEnabled === 'boolean' ? { isEnabled: o.isEnabled } : {}),
    accounts,
  };
}

function same(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.trim().toLowerCase() === b.trim().toLowerCase();
}

export interface MdiIdentityAccounts {
  /** The identity MDI knows for this account: by on-premises SID ($filter), else by Entra object id or UPN. */
  find(target: ActionTarget, signal?: AbortSignal): Promise<MdiIdentity | undefined>;
  invoke(identityId: string, body: { accountId: string; action: MdiAction; identityProvider: MdiProvider }, signal?: AbortSignal): Promise<{ correlationId?: string }>;
}

export function createMdiIdentityAccounts(client: GraphClient): MdiIdentityAccounts {
  const path = '/security/identities/identityAccounts';
  async function list(request: string, signal: AbortSignal | undefined): Promise<{ value: unknown[]; next?: string }> {
    try {
      const page = (await withSignal(client.api(request), signal).get()) as { value?: unknown; '@odata.nextLink'?: unknown };
      return { value: Array.isArray(page.value) ? page.value : [], ...(typeof page['@odata.nextLink'] === 'string' ? { next: page['@odata.nextLink'] } : {}) };
    } catch (error) {
      throw graphErrorToAppError(error, { action: 'read identity accounts from Defender for Identity', permission: MDI_PERMISSIONS.read });
    }
  }
  return {
    async find(target, signal) {
      if (target.sid) {
        // The documented filter (list identityAccounts, example 2). A SID has no quote to escape.
        const sid = target.sid.replaceAll("'", "''");
        const page = await list(`${path}?$filter=${encodeURIComponent(`onPremisesSecurityIdentifier eq '${sid}'`)}`, signal);
        const found = page.value.map(parseIdentity).find((identity) => same(identity?.onPremisesSecurityIdentifier, target.sid));
        if (found || (!target.entraObjectId && !target.userPrincipalName)) return found;
      }
      if (!target.entraObjectId && !target.userPrincipalName) return undefined;
      // No documented filter on the Entra object id or the UPN: read the list and match.
      let next: string | undefined = path;
      for (let pages = 0; next && pages < MAX_SCAN_PAGES; pages++) {
        const page = await list(next, signal);
        for (const identity of page.value.map(parseIdentity)) {
          if (!identity) continue;
          // The alert's SID names one AD account: an identity with another SID is someone else,
          // whatever UPN or object id it shares (another forest, a reused name).
          if (target.sid && identity.onPremisesSecurityIdentifier && !same(identity.onPremisesSecurityIdentifier, target.sid)) continue;
          if (target.entraObjectId && identity.accounts.some((a) => a.identityProvider === 'entraID' && same(a.identifier, target.entraObjectId))) return identity;
          if (same(identity.userPrincipalName, target.userPrincipalName)) return identity;
        }
        next = page.next;
      }
      return undefined;
    },
    async invoke(identityId, body, signal) {
      let answer: unknown;
      try {
        // Retried only on 429 (throttled: not processed). A 5xx or a timeout may come after Defender
        // accepted the action: asking again could run it twice, so it is reported instead.
        const once = new RetryHandlerOptions(2, 3, (_delay, _attempt, _request, _options, response) => response.status === 429);
        answer = await withSignal(client.api(`${path}/${encodeURIComponent(identityId)}/invokeAction`), signal).middlewareOptions([once]).post(body);
      } catch (error) {
        const mapped = graphErrorToAppError(error, { action: `ask Defender for Identity to ${body.action} the ${body.identityProvider} account`, permission: MDI_PERMISSIONS.act });
        const status = typeof mapped.details.status === 'number' ? mapped.details.status : undefined;
        // No answer, or a server error: Defender may have accepted it all the same.
        if (mapped.code === 'TIMEOUT' || (mapped.code === 'UPSTREAM_ERROR' && (status === undefined || status >= 500))) {
          throw new AppError(mapped.code, `${mapped.message} Defender may have accepted it all the same: check its Action center before asking again.`, { cause: error, details: mapped.details });
        }
        throw mapped;
      }
      // invokeActionResult, documented both bare and wrapped in `value`.
      const result = (answer && typeof answer === 'object' && 'value' in answer ? (answer as { value: unknown }).value : answer) as Record<string, unknown> | undefined;
      // Accepted is accepted: a missing correlation id must not turn a requested action into a "failure" that invites a second one.
      return typeof result?.correlationId === 'string' && result.correlationId !== '' ? { correlationId: result.correlationId } : {};
    },
  };
}
