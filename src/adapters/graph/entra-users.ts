import type { GraphRequest } from '@microsoft/microsoft-graph-client';
import { AppError } from '../../domain/errors.ts';
import type { ActionTarget } from '../../domain/remediation.ts';
import { targetIdentity } from '../../domain/target-identity.ts';
import { GraphError, graphErrorToAppError, type GraphClient } from './graph-client.ts';

/** Finding the Entra user an action targets: by object id first, else by UPN. */

export const USER_SELECT = [
  'id',
  'userPrincipalName',
  'displayName',
  'accountEnabled',
  'onPremisesSyncEnabled',
  'onPremisesSamAccountName',
  'onPremisesDomainName',
  'onPremisesSecurityIdentifier',
  'onPremisesDistinguishedName',
  'signInSessionsValidFromDateTime',
];

export interface EntraUser {
  id: string;
  userPrincipalName: string;
  displayName: string | null;
  accountEnabled: boolean | null;
  onPremisesSyncEnabled: boolean | null;
  onPremisesSamAccountName: string | null;
  onPremisesDomainName: string | null;
  onPremisesSecurityIdentifier?: string | null;
  onPremisesDistinguishedName?: string | null;
  signInSessionsValidFromDateTime: string | null;
}

export function withSignal(request: GraphRequest, signal: AbortSignal | undefined): GraphRequest {
  // The client's timeout middleware combines this with its per-attempt deadline.
  return signal ? request.option('signal', signal) : request;
}

export interface EntraUsers {
  resolve(target: ActionTarget, signal: AbortSignal | undefined): Promise<EntraUser | undefined>;
  mustResolve(target: ActionTarget, signal: AbortSignal | undefined): Promise<EntraUser>;
}

export function createEntraUsers(client: GraphClient, readPermission: string): EntraUsers {
  async function getUser(ref: string, signal: AbortSignal | undefined): Promise<EntraUser | undefined> {
    try {
      return (await withSignal(client.api(`/users/${encodeURIComponent(ref)}`).select(USER_SELECT), signal).get()) as EntraUser;
    } catch (error) {
      if (error instanceof GraphError && error.statusCode === 404) return undefined;
      throw graphErrorToAppError(error, { action: `read the user ${ref} in Entra ID`, permission: readPermission });
    }
  }

  /** By object id first; a UPN as well when the id is unknown (or absent). */
  async function resolve(target: ActionTarget, signal: AbortSignal | undefined): Promise<EntraUser | undefined> {
    const id = targetIdentity(target);
    const refs = [id.entraObjectId, id.userPrincipalName].filter((r): r is string => typeof r === 'string' && r !== '');
    if (refs.length === 0) throw new AppError('INPUT_INVALID', `The account ${target.accountKey} has no Entra object id or UPN to find it in Entra ID.`);
    for (const ref of refs) {
      const user = await getUser(ref, signal);
      if (user) return user;
    }
    return undefined;
  }

  async function mustResolve(target: ActionTarget, signal: AbortSignal | undefined): Promise<EntraUser> {
    const user = await resolve(target, signal);
    if (user) return user;
    const id = targetIdentity(target);
    const name = id.userPrincipalName ?? id.entraObjectId ?? target.accountKey;
    throw new AppError('UPSTREAM_NOT_FOUND', `No such user in Entra ID: ${name}.`, { details: { accountKey: target.accountKey } });
  }

  return { resolve, mustResolve };
}
