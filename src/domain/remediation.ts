import type { ActionName } from './actions.ts';
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
}

/** Whether an action's effect is in place, read back from the system (crash reconciliation). */
export type AppliedState = 'applied' | 'not-applied' | 'unknown';

export interface Remediation {
  /** Which actions this deployment can run (depends on configured systems). */
  supports(action: ActionName): boolean;
  inspect(action: ActionName, target: ActionTarget, options: { log: Logger; signal?: AbortSignal }): Promise<TargetInspection>;
  run(action: ActionName, target: ActionTarget, options: ActionRunOptions): Promise<ActionResult>;
  readBack(action: ActionName, target: ActionTarget, options: ReadBackOptions): Promise<AppliedState>;
}
