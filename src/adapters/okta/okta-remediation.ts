import type { ActionsOf } from '../../domain/actions.ts';
import { targetIdentity } from '../../domain/target-identity.ts';
import { AppError, isAppError } from '../../domain/errors.ts';
import { remediationOf, type ActionHandler, type ActionResult, type ActionRunOptions, type ActionTarget, type AppliedState, type InspectOptions, type ReadBackOptions, type Remediation, type SystemActions, type TargetInspection } from '../../domain/remediation.ts';
import type { OktaClient, OktaUser } from './okta-client.ts';

/**
 * Okta containment: suspend (and end every session and OAuth token, since a suspended user's
 * live sessions otherwise keep working), and unsuspend. The Okta user is found by login = UPN,
 * or by an explicit Okta id when the caller has one.
 */
export type OktaActionName = ActionsOf<'okta'>;

export interface OktaRemediationOptions {
  client: OktaClient;
  /** Also forget the user's remembered devices and factors when clearing sessions (OKTA_FORGET_DEVICES; default false). */
  forgetDevices?: boolean;
}

/** Statuses with a person who may hold live Okta sessions: clearing them is possible and worth it. */
const SESSION_STATUSES = new Set(['ACTIVE', 'SUSPENDED', 'LOCKED_OUT', 'RECOVERY', 'PASSWORD_EXPIRED']);

/** The Okta actions as the Remediation port (what main.ts and the tests use). */
export function createOktaRemediation(options: OktaRemediationOptions): Remediation {
  return remediationOf('okta', createOktaActions(options));
}

/** Every Okta action's handler, keyed by the catalog's Okta actions (a missing one does not compile). */
export function createOktaActions(options: OktaRemediationOptions): SystemActions<'okta'> {
  const { client } = options;
  const forgetDevices = options.forgetDevices ?? false;
  /** What clearing sessions does, in words: Okta ends its own sessions and tokens, not the apps'. */
  const cleared = `its Okta sessions and the OAuth tokens Okta issued${forgetDevices ? ', and forgot its remembered devices' : ' (remembered devices kept)'}; sessions that apps keep on their own are not ended by Okta`;

  function loginOf(target: ActionTarget): string {
    const upn = targetIdentity(target).userPrincipalName;
    if (!upn) throw new AppError('INPUT_INVALID', `The account ${target.accountKey} has no UPN, which Okta needs as the login to find it.`);
    return upn;
  }

  /**
   * The Okta user whose login IS the target's UPN. Okta's GET /users/{x} also answers for an id
   * or a login's short name, so the login found is compared with the one asked for: another
   * person's account is never taken for this one.
   */
  async function find(target: ActionTarget, signal: AbortSignal | undefined): Promise<OktaUser | undefined> {
    const login = loginOf(target);
    let user: OktaUser;
    try {
      user = await client.getUser(login, signal ? { signal } : {});
    } catch (error) {
      if (isAppError(error) && error.code === 'UPSTREAM_NOT_FOUND') return undefined;
      throw error;
    }
    if (user.login.trim().toLowerCase() !== login.trim().toLowerCase()) {
      throw new AppError('CONFLICT', `Okta answered the lookup of ${login} with another user (login ${user.login}); the bot acts on nobody.`, { details: { login, foundLogin: user.login, oktaUserId: user.id } });
    }
    return user;
  }

  async function run(oktaAction: OktaActionName, target: ActionTarget, opts: ActionRunOptions): Promise<ActionResult> {
    const action = oktaAction;
    const login = loginOf(target);
    const call = opts.signal ? { signal: opts.signal } : {};
    const user = await find(target, opts.signal);
    if (!user) throw new AppError('UPSTREAM_NOT_FOUND', `No such user in Okta: no user has the login ${login}.`, { details: { action, login } });
    const facts = { system: 'okta', oktaUserId: user.id, login: user.login, statusBefore: user.status };
    const log = opts.log.child({ action, oktaUserId: user.id });
    const dry = opts.dryRun ? 'DRY RUN: ' : '';
    if (oktaAction === 'suspend-okta') {
      const clear = { ...call, oauthTokens: true, forgetDevices };
      if (user.status === 'SUSPENDED') {
        // Still end the sessions: a half-finished earlier run may have suspended without clearing them.
        if (opts.dryRun) return { summary: `DRY RUN: ${login} is already suspended in Okta; would clear its sessions`, details: { ...facts, changed: false, dryRun: true } };
        await client.clearSessions(user.id, clear);
        log.info({ forgetDevices }, 'Okta user already suspended; sessions cleared');
        return { summary: `${login} was already suspended in Okta; cleared ${cleared}`, details: { ...facts, changed: false, sessionsCleared: true, forgetDevices } };
      }
      if (user.status !== 'ACTIVE') {
        // Okta suspends only ACTIVE users. A locked-out user, or one in password recovery or with
        // an expired password, may still hold live sessions: end them, and say what was not done.
        const canClear = SESSION_STATUSES.has(user.status);
        if (opts.dryRun) {
          return { summary: `DRY RUN: Okta cannot suspend ${login} (status ${user.status})${canClear ? '; would clear its sessions' : ''}`, details: { ...facts, changed: false, dryRun: true } };
        }
        if (canClear) await client.clearSessions(user.id, clear);
        log.info({ status: user.status, sessionsCleared: canClear }, 'Okta user not active: not suspended');
        throw new AppError(
          'CONFLICT',
          `Okta cannot suspend ${login}: only active users can be suspended and this one is ${user.status}. ` +
            (canClear ? `The bot cleared ${cleared}. ` : 'No sessions were cleared (a user in this status has none). ') +
            'Not done: the suspension; deactivate the user in the Okta admin console if it must not sign in again.',
          { details: { ...facts, suspended: false, sessionsCleared: canClear, forgetDevices } },
        );
      }
      if (opts.dryRun) return { summary: `DRY RUN: would suspend ${login} in Okta and clear its sessions`, details: { ...facts, changed: false, dryRun: true } };
      await client.suspendUser(user.id, call);
      await client.clearSessions(user.id, clear);
      log.info({ forgetDevices }, 'Okta user suspended and sessions cleared');
      return { summary: `Suspended ${login} in Okta and cleared ${cleared}`, details: { ...facts, changed: true, sessionsCleared: true, forgetDevices } };
    }
    if (user.status === 'ACTIVE') return { summary: `${dry}${login} is already active in Okta; nothing to do`, details: { ...facts, changed: false, dryRun: opts.dryRun } };
    if (user.status !== 'SUSPENDED') {
      throw new AppError('CONFLICT', `Okta cannot unsuspend ${login}: the user is not suspended (status ${user.status}).`, { details: facts });
    }
    if (opts.dryRun) return { summary: `DRY RUN: would unsuspend ${login} in Okta`, details: { ...facts, changed: false, dryRun: true } };
    await client.unsuspendUser(user.id, call);
    log.info('Okta user unsuspended');
    return { summary: `Unsuspended ${login} in Okta`, details: { ...facts, changed: true } };
  }

  async function inspect(target: ActionTarget, opts: InspectOptions): Promise<TargetInspection> {
    const user = await find(target, opts.signal);
    // Okta admin roles are not visible through the Users API: privilege comes from the AD and
    // Entra checks the router adds for every action.
    if (!user) return { found: false, privileged: false, reasons: [] };
    return { found: true, privileged: false, reasons: [], identities: [{ system: 'okta', oktaUserId: user.id, login: user.login }] };
  }

  async function readBack(oktaAction: OktaActionName, target: ActionTarget, opts: ReadBackOptions): Promise<AppliedState> {
    const user = await find(target, opts.signal);
    if (!user) return 'unknown';
    // suspend-okta is two calls: the suspend, then DELETE of the sessions and OAuth tokens.
    // Okta's API shows the status but not whether sessions were cleared (none are listable
    // per user), so a suspended user does not prove the action complete: a run killed between
    // the calls leaves live sessions. 'unknown' makes the reconciler ask for a Retry, which on
    // a suspended user only clears the sessions (idempotent).
    if (oktaAction === 'suspend-okta') return user.status === 'SUSPENDED' ? 'unknown' : 'not-applied';
    return user.status === 'SUSPENDED' ? 'not-applied' : 'applied';
  }

  const handler = (action: OktaActionName): ActionHandler => ({ inspect, run: (target, o) => run(action, target, o), readBack: (target, o) => readBack(action, target, o) });
  return { 'suspend-okta': handler('suspend-okta'), 'unsuspend-okta': handler('unsuspend-okta') };
}
