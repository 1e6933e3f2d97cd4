import { isActionName, SYSTEM_NAMES, type ActionName, type ActionSystem, type ActionsOf } from './actions.ts';
import { AppError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Secret } from './secret.ts';

/**
 * The Remediation port: runs one containment action (or its undo) on one account, whichever
 * system it lives in (AD over LDAP, Entra ID over Graph, Okta). Implementations throw AppError
 * with a stable code and a sentence fit for the thread; they never log or return secrets except
 * the generated temporary password, wrapped in `Secret`.
 */
export interface ActionTarget {
  /** Primary normalized account key (see src/domain/account-key.ts), as in card data and audit. */
  accountKey: string;
  displayName?: string;
  samAccountName?: string;
  /** NetBIOS domain (CORP). */
  domain?: string;
  userPrincipalName?: string;
  sid?: string;
  entraObjectId?: string;
}

export interface ActionRunOptions {
  /** Go through every step (find the account, check it) except the change itself. */
  dryRun: boolean;
  log: Logger;
  signal?: AbortSignal;
}

export interface ActionResult {
  /** One line for the thread, e.g. "Disabled CORP\\jdoe in AD". */
  summary: string;
  /** Non-secret facts for the audit (DN, object ids, previous state...). */
  details: Record<string, unknown>;
  /** Only for reset-password: shown to the approver privately, never logged or posted. */
  temporaryPassword?: Secret;
  /**
   * Set when the system only ACCEPTED the request and applies it later (Defender for Identity's
   * response actions): the workflow says "requested", then reads the effect back until it shows
   * or the confirmation time runs out, and never reports it as done before.
   */
  requested?: { by: string; correlationId?: string };
}

/** Facts the guard rails need before anything runs. */
export interface TargetInspection {
  /** The account exists in the system the action targets. */
  found: boolean;
  /** adminCount=1, a built-in privileged group, or an Entra privileged role. */
  privileged: boolean;
  /** Why it is privileged (for the refusal message). */
  reasons: string[];
  /** Entra user mastered on-premises: Entra ID refuses to disable it (use AD). */
  syncedFromAd?: boolean;
  /**
   * The account as each consulted system FOUND it (not as the alert named it), one entry per
   * system that found it: the guard rails match service and protected accounts against these too.
   */
  identities?: FoundIdentity[];
  /**
   * The system knows the account but will not run THIS action on it now, and why (Defender for
   * Identity does not list the action for the account). The router refuses the action with it.
   */
  unavailable?: string;
}

/** Identifiers of one account as a directory returned them. */
export interface FoundIdentity {
  system: 'activeDirectory' | 'entra' | 'okta';
  /** AD distinguished name. */
  dn?: string;
  sid?: string;
  samAccountName?: string;
  /** NetBIOS domain (CORP) of samAccountName. */
  domain?: string;
  userPrincipalName?: string;
  entraObjectId?: string;
  oktaUserId?: string;
  /** Okta login. */
  login?: string;
}

export interface ReadBackOptions {
  log: Logger;
  signal?: AbortSignal;
  /**
   * When the action was started. Effects that leave only a timestamp (revoke-sessions) can be
   * read back only against it; without it they answer 'unknown'.
   */
  since?: Date;
  /**
   * The reset was run by an executor that writes no password (Defender for Identity's
   * forcePasswordReset only sets "must change at next logon"): that flag alone shows the effect.
   */
  noPasswordWritten?: boolean;
}

/** Whether an action's effect is in place, read back from the system (crash reconciliation). */
export type AppliedState = 'applied' | 'not-applied' | 'unknown';

export interface Remediation {
  /** Which actions this deployment can run (depends on configured systems). */
  supports(action: ActionName): boolean;
  inspect(action: ActionName, target: ActionTarget, options: { log: Logger; signal?: AbortSignal }): Promise<TargetInspection>;
  run(action: ActionName, target: ActionTarget, options: ActionRunOptions): Promise<ActionResult>;
  readBack(action: ActionName, target: ActionTarget, options: ReadBackOptions): Promise<AppliedState>;
  /**
   * Whether a button for the action may be shown for this account now (Defender for Identity: the
   * account lists the action). Absent: whenever `supports` says so. Never a security decision by
   * itself: the gate's inspection decides again when someone presses the button.
   */
  offerable?(action: ActionName, target: ActionTarget, options: InspectOptions): Promise<boolean>;
  /** How this deployment runs the action, when people should read it beside the button (e.g. "via Defender for Identity"). */
  describe?(action: ActionName): string | undefined;
}

export type InspectOptions = { log: Logger; signal?: AbortSignal };

/** One action of one system: how to check its target, run it, and read its effect back. */
export interface ActionHandler {
  inspect(target: ActionTarget, options: InspectOptions): Promise<TargetInspection>;
  run(target: ActionTarget, options: ActionRunOptions): Promise<ActionResult>;
  readBack(target: ActionTarget, options: ReadBackOptions): Promise<AppliedState>;
}

/**
 * Every action of one system, each with its handler. Keyed by ActionsOf<S> (derived from
 * ACTION_CATALOG), so a catalog entry for the system without its handler does not compile.
 */
export type SystemActions<S extends ActionSystem> = { readonly [A in ActionsOf<S>]: ActionHandler };

/** The Remediation port over one system's handlers: each call dispatched through the record. */
export function remediationOf<S extends ActionSystem>(system: S, actions: SystemActions<S>): Remediation {
  const handlers: Partial<Record<ActionName, ActionHandler>> = actions;
  function handler(action: ActionName): ActionHandler {
    const found = isActionName(action) ? handlers[action] : undefined;
    if (!found) throw new AppError('INPUT_INVALID', `The ${SYSTEM_NAMES[system]} remediation does not run ${String(action)}.`);
    return found;
  }
  return {
    supports: (action) => isActionName(action) && handlers[action] !== undefined,
    // async: an unknown action rejects like any other failure, it does not throw synchronously.
    inspect: async (action, target, options) => handler(action).inspect(target, options),
    run: async (action, target, options) => handler(action).run(target, options),
    readBack: async (action, target, options) => handler(action).readBack(target, options),
  };
}
