import { setTimeout as sleep } from 'node:timers/promises';
import type { GraphRequest } from '@microsoft/microsoft-graph-client';
import type { ActionsOf } from '../../domain/actions.ts';
import { AppError } from '../../domain/errors.ts';
import { remediationOf, type ActionHandler, type ActionResult, type ActionRunOptions, type ActionTarget, type AppliedState, type FoundIdentity, type InspectOptions, type ReadBackOptions, type Remediation, type SystemActions, type TargetInspection } from '../../domain/remediation.ts';
import { createEntraUsers, withSignal, type EntraUser } from './entra-users.ts';
import { GraphError, graphErrorToAppError, type GraphClient } from './graph-client.ts';
import { DEFAULT_PRIVILEGED_ROLES, privilegedGroupReasons, privilegedRolesOf, roleReason } from './graph-privilege.ts';

/**
 * Entra ID containment through Microsoft Graph: confirm a user compromised (or dismiss the risk),
 * revoke sign-in sessions, disable / re-enable a cloud-mastered user. Users synced from AD are
 * refused for enable/disable (Entra ID does not let the cloud change them): the answer names the
 * AD action to use instead. The user is resolved by object id, else by UPN.
 */
export type EntraActionName = ActionsOf<'entra'>;
type SwitchedAction = Extract<EntraActionName, 'mark-compromised' | 'dismiss-risk' | 'revoke-sessions' | 'suspend-entra' | 'enable-entra'>;

/** The application permission each call needs, named in 403 sentences. */
const PERMISSIONS = {
  readUser: 'User.Read.All',
  enableDisable: 'User.EnableDisableAccount.All',
  revoke: 'User.RevokeSessions.All',
  riskWrite: 'IdentityRiskyUser.ReadWrite.All',
  riskRead: 'IdentityRiskyUser.Read.All',
  passwordProfile: 'User-PasswordProfile.ReadWrite.All',
} as const;

export interface GraphIdentityActionsOptions {
  /** From createGraphClient: token, deadline per attempt and 429 retries are its job. */
  client: GraphClient;
  /** Entra groups whose transitive members count as privileged (e.g. a Tier 0 group). */
  privilegedGroups?: Array<{ id: string; name?: string }>;
  /** Directory role template ids counted as privileged (active or PIM-eligible); DEFAULT_PRIVILEGED_ROLES when absent. */
  privilegedRoleIds?: readonly string[];
  /**
   * Identity Protection allows 1 request per second per tenant and sends no Retry-After: calls
   * from this process are spaced by this much (default 1100 ms) so they do not provoke the 429
   * the client would otherwise have to back off from.
   */
  identityProtectionSpacingMs?: number;
}

type RiskState = 'none' | 'confirmedSafe' | 'remediated' | 'dismissed' | 'atRisk' | 'confirmedCompromised' | 'unknownFutureValue';

/** The Entra ID actions as the Remediation port (what main.ts and the tests use). */
export function createGraphIdentityActions(options: GraphIdentityActionsOptions): Remediation {
  return remediationOf('entra', createEntraActions(options));
}

/** Every Entra action's handler, keyed by the catalog's Entra actions (a missing one does not compile). */
export function createEntraActions(options: GraphIdentityActionsOptions): SystemActions<'entra'> {
  const { client } = options;
  const spacingMs = options.identityProtectionSpacingMs ?? 1100;
  const roleIds = new Set((options.privilegedRoleIds ?? Object.keys(DEFAULT_PRIVILEGED_ROLES)).map((id) => id.toLowerCase()));
  let nextRiskSlot = 0;

  /** Reserves the next Identity Protection slot synchronously, so concurrent callers queue up. */
  async function paced<T>(work: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const start = Math.max(now, nextRiskSlot);
    nextRiskSlot = start + spacingMs;
    if (start > now) await sleep(start - now);
    return work();
  }

  const { resolve, mustResolve } = createEntraUsers(client, PERMISSIONS.readUser);

  async function riskState(userId: string, signal: AbortSignal | undefined): Promise<RiskState | 'never-scored'> {
    try {
      const risky = (await paced(() => withSignal(client.api(`/identityProtection/riskyUsers/${encodeURIComponent(userId)}`), signal).get())) as { riskState?: RiskState };
      return risky.riskState ?? 'none';
    } catch (error) {
      // Identity Protection keeps no record for a user it never scored.
      if (error instanceof GraphError && error.statusCode === 404) return 'never-scored';
      throw graphErrorToAppError(error, { action: 'read the user risk in Entra ID Protection', permission: PERMISSIONS.riskRead });
    }
  }

  function syncedRefusal(user: EntraUser, action: 'suspend-entra' | 'enable-entra', cause?: unknown): AppError {
    const disabling = action === 'suspend-entra';
    const onPrem = user.onPremisesSamAccountName ? ` (${user.onPremisesSamAccountName})` : '';
    const alternatives = disabling ? ['disable-ad-account', 'revoke-sessions'] : ['enable-ad-account'];
    const message = disabling
      ? `${user.userPrincipalName} is synced from AD${onPrem}, so Entra ID cannot disable it: use disable-ad-account and revoke-sessions instead.`
      : `${user.userPrincipalName} is synced from AD${onPrem}, so Entra ID cannot enable it: use enable-ad-account instead.`;
    return new AppError('ACTION_NOT_APPLICABLE', message, { ...(cause === undefined ? {} : { cause }), details: { entraObjectId: user.id, syncedFromAd: true, alternatives } });
  }

  async function setEnabled(user: EntraUser, enabled: boolean, signal: AbortSignal | undefined): Promise<void> {
    const action = enabled ? 'enable-entra' : 'suspend-entra';
    try {
      await withSignal(client.api(`/users/${encodeURIComponent(user.id)}`), signal).patch({ accountEnabled: enabled });
    } catch (error) {
      // The user may have become synced since we read it: Graph then answers this documented 400.
      if (error instanceof GraphError && error.statusCode === 400 && /on-premises mastered/i.test(error.message)) throw syncedRefusal(user, action, error);
      if (error instanceof GraphError && error.statusCode === 403) {
        const refusal = await privilegedTargetRefusal(user, enabled, error, signal);
        if (refusal) throw refusal;
      }
      throw graphErrorToAppError(error, { action: `${enabled ? 'enable' : 'disable'} ${user.userPrincipalName} in Entra ID`, permission: PERMISSIONS.enableDisable });
    }
  }

  /**
   * Graph refuses (403 Authorization_RequestDenied) to change accountEnabled of a user holding a
   * privileged administrator role unless the app itself holds a higher privileged administrator
   * role; User.EnableDisableAccount.All is not enough
   * (https://learn.microsoft.com/en-us/graph/api/user-update, "Who can perform sensitive actions").
   * When the target holds such a role the refusal says that, not "missing permission".
   */
  async function privilegedTargetRefusal(user: EntraUser, enabling: boolean, cause: GraphError, signal: AbortSignal | undefined): Promise<AppError | undefined> {
    const held = await privilegedRolesOf(client, user, roleIds, (request) => withSignal(request, signal)).catch(() => []);
    const active = held.filter((role) => role.how === 'active');
    if (active.length === 0) return undefined;
    const names = active.map((role) => role.name).join(', ');
    return new AppError(
      'UPSTREAM_FORBIDDEN',
      `Entra ID refused to ${enabling ? 'enable' : 'disable'} ${user.userPrincipalName}: the account holds the privileged role ${names}, and for such accounts Entra ID lets only an app that itself holds a higher privileged administrator role (such as Privileged Authentication Administrator) change accountEnabled; User.EnableDisableAccount.All is not enough. ` +
        (enabling ? 'Enable it by hand in the Entra admin center.' : 'Use disable-ad-account (if it is synced from AD) and revoke-sessions instead, or disable it by hand.'),
      { cause, details: { status: 403, graphCode: cause.code ?? undefined, entraObjectId: user.id, privilegedRoles: active.map((role) => role.roleDefinitionId), alternatives: enabling ? [] : ['disable-ad-account', 'revoke-sessions'] } },
    );
  }

  async function setRisk(user: EntraUser, kind: 'confirmCompromised' | 'dismiss', signal: AbortSignal | undefined): Promise<void> {
    try {
      await paced(() => withSignal(client.api(`/identityProtection/riskyUsers/${kind}`), signal).post({ userIds: [user.id] }));
    } catch (error) {
      throw graphErrorToAppError(error, {
        action: kind === 'confirmCompromised' ? `confirm ${user.userPrincipalName} compromised in Entra ID Protection` : `dismiss the risk of ${user.userPrincipalName} in Entra ID Protection`,
        permission: PERMISSIONS.riskWrite,
      });
    }
  }

  async function run(entraAction: SwitchedAction, target: ActionTarget, opts: ActionRunOptions): Promise<ActionResult> {
    const action = entraAction;
    const user = await mustResolve(target, opts.signal);
    const upn = user.userPrincipalName;
    const facts = { system: 'entra', entraObjectId: user.id, userPrincipalName: upn, syncedFromAd: user.onPremisesSyncEnabled === true, accountEnabledBefore: user.accountEnabled };
    const log = opts.log.child({ action, entraObjectId: user.id });
    switch (entraAction) {
      case 'suspend-entra':
      case 'enable-entra': {
        const enabling = entraAction === 'enable-entra';
        if (user.onPremisesSyncEnabled === true) throw syncedRefusal(user, entraAction);
        if (user.accountEnabled === enabling) {
          return { summary: `${opts.dryRun ? 'DRY RUN: ' : ''}${upn} is already ${enabling ? 'enabled' : 'disabled'} in Entra ID; nothing to do`, details: { ...facts, changed: false, dryRun: opts.dryRun } };
        }
        if (opts.dryRun) return { summary: `DRY RUN: would ${enabling ? 'enable' : 'disable'} ${upn} in Entra ID`, details: { ...facts, changed: false, dryRun: true } };
        await setEnabled(user, enabling, opts.signal);
        log.info({ accountEnabled: enabling }, 'Entra account enabled state changed');
        return { summary: `${enabling ? 'Enabled' : 'Disabled'} ${upn} in Entra ID`, details: { ...facts, changed: true, accountEnabledAfter: enabling } };
      }
      case 'revoke-sessions': {
        if (opts.dryRun) return { summary: `DRY RUN: would revoke the sign-in sessions of ${upn} in Entra ID`, details: { ...facts, changed: false, dryRun: true } };
        try {
          await withSignal(client.api(`/users/${encodeURIComponent(user.id)}/revokeSignInSessions`), opts.signal).post({});
        } catch (error) {
          throw graphErrorToAppError(error, { action: `revoke the sign-in sessions of ${upn}`, permission: PERMISSIONS.revoke });
        }
        log.info('Entra sign-in sessions revoked');
        return {
          summary: `Revoked the sign-in sessions of ${upn} in Entra ID (apps may take a few minutes to notice)`,
          details: { ...facts, changed: true, signInSessionsValidFromBefore: user.signInSessionsValidFromDateTime },
        };
      }
      case 'mark-compromised':
      case 'dismiss-risk': {
        const confirming = entraAction === 'mark-compromised';
        // Read first: the dry run must check state too, and the audit wants the state before.
        const before = await riskState(user.id, opts.signal);
        const riskFacts = { ...facts, riskStateBefore: before };
        if (confirming && before === 'confirmedCompromised') {
          return { summary: `${opts.dryRun ? 'DRY RUN: ' : ''}${upn} is already confirmed compromised in Entra ID Protection; nothing to do`, details: { ...riskFacts, changed: false, dryRun: opts.dryRun } };
        }
        const verb = confirming ? `mark ${upn} as compromised in Entra ID Protection` : `dismiss the user risk of ${upn} in Entra ID Protection`;
        if (opts.dryRun) return { summary: `DRY RUN: would ${verb}`, details: { ...riskFacts, changed: false, dryRun: true } };
        await setRisk(user, confirming ? 'confirmCompromised' : 'dismiss', opts.signal);
        log.info({ riskStateBefore: before }, confirming ? 'Entra user confirmed compromised' : 'Entra user risk dismissed');
        return {
          summary: confirming ? `Marked ${upn} as compromised in Entra ID Protection (user risk high)` : `Dismissed the user risk of ${upn} in Entra ID Protection`,
          details: { ...riskFacts, changed: true },
        };
      }
    }
  }

  /** Privileged roles (active and PIM-eligible) and configured groups: every reason found. */
  async function privilegedReasons(user: EntraUser, signal: AbortSignal | undefined): Promise<string[]> {
    const sign = (request: GraphRequest) => withSignal(request, signal);
    const roles = await privilegedRolesOf(client, user, roleIds, sign);
    const groups = await privilegedGroupReasons(client, user, options.privilegedGroups ?? [], sign);
    return [...roles.map(roleReason), ...groups];
  }

  async function inspect(target: ActionTarget, opts: InspectOptions): Promise<TargetInspection> {
    const user = await resolve(target, opts.signal);
    if (!user) return { found: false, privileged: false, reasons: [] };
    const reasons = await privilegedReasons(user, opts.signal);
    const identity: FoundIdentity = { system: 'entra', entraObjectId: user.id, userPrincipalName: user.userPrincipalName };
    if (user.onPremisesSecurityIdentifier) identity.sid = user.onPremisesSecurityIdentifier;
    if (user.onPremisesSamAccountName) identity.samAccountName = user.onPremisesSamAccountName;
    if (user.onPremisesDistinguishedName) identity.dn = user.onPremisesDistinguishedName;
    return { found: true, privileged: reasons.length > 0, reasons, syncedFromAd: user.onPremisesSyncEnabled === true, identities: [identity] };
  }

  async function readBack(entraAction: SwitchedAction, target: ActionTarget, opts: ReadBackOptions): Promise<AppliedState> {
    const user = await resolve(target, opts.signal);
    if (!user) return 'unknown';
    switch (entraAction) {
      case 'suspend-entra':
        return user.accountEnabled === false ? 'applied' : 'not-applied';
      case 'enable-entra':
        return user.accountEnabled === true ? 'applied' : 'not-applied';
      case 'revoke-sessions': {
        if (!opts.since || !user.signInSessionsValidFromDateTime) return 'unknown';
        // Graph keeps whole seconds: compare against the start of the second the action began.
        const validFrom = Date.parse(user.signInSessionsValidFromDateTime);
        return validFrom >= Math.floor(opts.since.getTime() / 1000) * 1000 ? 'applied' : 'not-applied';
      }
      case 'mark-compromised': {
        const state = await riskState(user.id, opts.signal);
        return state === 'confirmedCompromised' ? 'applied' : 'not-applied';
      }
      case 'dismiss-risk': {
        const state = await riskState(user.id, opts.signal);
        return state === 'atRisk' || state === 'confirmedCompromised' ? 'not-applied' : 'applied';
      }
    }
  }

  /** The actions whose run and read-back are one switch over their shared user read. */
  const switched = (action: SwitchedAction): ActionHandler => ({ inspect, run: (target, o) => run(action, target, o), readBack: (target, o) => readBack(action, target, o) });
  return {
    'mark-compromised': switched('mark-compromised'),
    'dismiss-risk': switched('dismiss-risk'),
    'revoke-sessions': switched('revoke-sessions'),
    'require-sign-in-again': switched('revoke-sessions'),
    'suspend-entra': switched('suspend-entra'),
    'enable-entra': switched('enable-entra'),
    'force-password-reset-entra': { inspect, run: forcePasswordChange, readBack: readForcedChange },
  };

  /**
   * PATCH /users/{id} { passwordProfile: { forceChangePasswordNextSignIn: true } }: the password
   * stays, the next sign-in must change it. App-only: User-PasswordProfile.ReadWrite.All, least
   * privileged (https://learn.microsoft.com/en-us/graph/api/user-update); for a privileged
   * administrator target Graph also wants the app to hold a higher privileged administrator role
   * (same page, "Who can perform sensitive actions"). The property:
   * https://learn.microsoft.com/en-us/graph/api/resources/passwordprofile
   */
  async function forcePasswordChange(target: ActionTarget, opts: ActionRunOptions): Promise<ActionResult> {
    const user = await mustResolve(target, opts.signal);
    const upn = user.userPrincipalName;
    const facts = { system: 'entra', entraObjectId: user.id, userPrincipalName: upn, syncedFromAd: user.onPremisesSyncEnabled === true };
    // A synced user's password is mastered in AD (Graph refuses the cloud change): reset it there.
    const synced = (cause?: unknown) =>
      new AppError('ACTION_NOT_APPLICABLE', `${upn} is synced from AD, so its password is mastered there: use reset-password instead.`, { ...(cause === undefined ? {} : { cause }), details: { entraObjectId: user.id, syncedFromAd: true, alternatives: ['reset-password'] } });
    if (user.onPremisesSyncEnabled === true) throw synced();
    if (opts.dryRun) return { summary: `DRY RUN: would require ${upn} to change the password at next sign-in in Entra ID`, details: { ...facts, changed: false, dryRun: true } };
    try {
      await withSignal(client.api(`/users/${encodeURIComponent(user.id)}`), opts.signal).patch({ passwordProfile: { forceChangePasswordNextSignIn: true } });
    } catch (error) {
      if (error instanceof GraphError && error.statusCode === 400 && /on-premises mastered/i.test(error.message)) throw synced(error);
      if (error instanceof GraphError && error.statusCode === 403) {
        const held = (await privilegedRolesOf(client, user, roleIds, (request) => withSignal(request, opts.signal)).catch(() => [])).filter((role) => role.how === 'active');
        if (held.length > 0) {
          throw new AppError('UPSTREAM_FORBIDDEN', `Entra ID refused to require a password change of ${upn}: the account holds the privileged role ${held.map((role) => role.name).join(', ')}, and for such accounts only an app holding a higher privileged administrator role may change the password profile. Do it by hand in the Entra admin center.`, {
            cause: error,
            details: { status: 403, entraObjectId: user.id, privilegedRoles: held.map((role) => role.roleDefinitionId) },
          });
        }
      }
      throw graphErrorToAppError(error, { action: `require ${upn} to change the password at next sign-in`, permission: PERMISSIONS.passwordProfile });
    }
    opts.log.child({ action: 'force-password-reset-entra', entraObjectId: user.id }).info('Entra password change required at next sign-in');
    return { summary: `Required ${upn} to change the password at next sign-in in Entra ID`, details: { ...facts, changed: true } };
  }

  /**
   * passwordProfile is returned only on $select (https://learn.microsoft.com/en-us/graph/api/resources/user);
   * without a boolean forceChangePasswordNextSignIn in the answer the state is 'unknown'. The flag
   * ends when the user changes the password (documented for its MFA variant), so 'not-applied' may
   * also mean "done and already used".
   */
  async function readForcedChange(target: ActionTarget, opts: ReadBackOptions): Promise<AppliedState> {
    const user = await resolve(target, opts.signal);
    if (!user) return 'unknown';
    let answer: { passwordProfile?: { forceChangePasswordNextSignIn?: unknown } | null };
    try {
      answer = (await withSignal(client.api(`/users/${encodeURIComponent(user.id)}`).select(['id', 'passwordProfile']), opts.signal).get()) as typeof answer;
    } catch (error) {
      throw graphErrorToAppError(error, { action: `read the password profile of ${user.userPrincipalName}`, permission: PERMISSIONS.readUser });
    }
    const flag = answer.passwordProfile?.forceChangePasswordNextSignIn;
    return typeof flag === 'boolean' ? (flag ? 'applied' : 'not-applied') : 'unknown';
  }
}
