/**
 * The containment actions, by stable name: domain vocabulary (ports, policy files, card data,
 * audit). ACTION_CATALOG is the one list: every other list of actions (per system, per undo, the
 * lookup card's offers, the policy's approval keys) is derived from it.
 */
export const ACTION_NAMES = [
  'disable-ad-account',
  'enable-ad-account',
  'reset-password',
  'mark-compromised',
  'dismiss-risk',
  'revoke-sessions',
  'require-sign-in-again',
  'suspend-entra',
  'enable-entra',
  'force-password-reset-entra',
  'suspend-okta',
  'unsuspend-okta',
] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

/** Which directory an action runs against; also which capability must be configured. */
export type ActionSystem = 'activeDirectory' | 'entra' | 'okta';

/** Each system's name in sentences. */
export const SYSTEM_NAMES: Readonly<Record<ActionSystem, string>> = { activeDirectory: 'Active Directory', entra: 'Entra ID', okta: 'Okta' };

/** What a lookup found about a person, per system (absent: no account there, or not asked). */
export interface PersonFacts {
  activeDirectory?: { enabled: boolean };
  entra?: { accountEnabled: boolean | null; syncedFromAd: boolean; riskState?: string };
  okta?: { status: string };
}

export interface LookupOfferRule {
  /** Position among the lookup card's buttons (lower first), the order analysts reach for them. */
  rank: number;
  /** Offered only when this holds for the person (the action's own system has an account for them). */
  when?: (facts: PersonFacts) => boolean;
}

export interface ActionInfo {
  system: ActionSystem;
  /** Short button/audit label, phone-sized. */
  label: string;
  /** Cuts a user off or changes their credentials: dry-run capable, counted by rate caps. */
  destructive: boolean;
  /**
   * Approvals it needs when the policy file names no count for it; the policy's `approvals.default`
   * raises this floor for every action (see src/actions/action-policy.ts).
   */
  defaultApprovals: number;
  /** The action that reverses this one, when there is one (reset-password and revoke-sessions have none). */
  undoneBy?: ActionName;
  /** Set on undo actions: the action this one reverses. */
  undoes?: ActionName;
  /**
   * Graph refuses it for users synced from AD ("on-premises mastered"): an alert account with an
   * on-premises SID is not offered it, the AD action is.
   */
  cloudMasteredOnly?: boolean;
  /** Offered as a button on the lookup card (absent: never offered there). */
  offeredOnLookup?: LookupOfferRule;
}

const CATALOG = {
  'disable-ad-account': {
    system: 'activeDirectory', label: 'Disable AD account', destructive: true, defaultApprovals: 1, undoneBy: 'enable-ad-account',
    offeredOnLookup: { rank: 10, when: (facts) => facts.activeDirectory?.enabled === true },
  },
  'enable-ad-account': { system: 'activeDirectory', label: 'Enable AD account', destructive: false, defaultApprovals: 1, undoes: 'disable-ad-account' },
  'reset-password': { system: 'activeDirectory', label: 'Reset AD password', destructive: true, defaultApprovals: 2, offeredOnLookup: { rank: 20 } },
  'mark-compromised': {
    system: 'entra', label: 'Mark compromised', destructive: true, defaultApprovals: 1, undoneBy: 'dismiss-risk',
    offeredOnLookup: { rank: 40, when: (facts) => facts.entra?.riskState !== 'confirmedCompromised' },
  },
  'dismiss-risk': { system: 'entra', label: 'Dismiss user risk', destructive: false, defaultApprovals: 1, undoes: 'mark-compromised' },
  'revoke-sessions': { system: 'entra', label: 'Revoke sessions', destructive: true, defaultApprovals: 1, offeredOnLookup: { rank: 30 } },
  // MDI's "require user to sign in again" (Entra ID): run directly, it is the same Graph call as
  // revoke-sessions (revokeSignInSessions); through Defender it is MDI's own action of that name.
  'require-sign-in-again': { system: 'entra', label: 'Require sign-in again', destructive: true, defaultApprovals: 1 },
  'suspend-entra': {
    system: 'entra', label: 'Disable in Entra ID', destructive: true, defaultApprovals: 1, undoneBy: 'enable-entra', cloudMasteredOnly: true,
    // Entra refuses to disable a synced user: that is done in AD.
    offeredOnLookup: { rank: 50, when: (facts) => facts.entra?.accountEnabled === true && !facts.entra.syncedFromAd },
  },
  'enable-entra': { system: 'entra', label: 'Enable in Entra ID', destructive: false, defaultApprovals: 1, undoes: 'suspend-entra', cloudMasteredOnly: true },
  // MDI's own "force password reset": the user keeps signing in but must change the password
  // first. Changes credential state (as reset-password does), so destructive; nothing undoes it.
  'force-password-reset-entra': { system: 'entra', label: 'Require password change (Entra)', destructive: true, defaultApprovals: 1, cloudMasteredOnly: true },
  'suspend-okta': {
    system: 'okta', label: 'Suspend in Okta', destructive: true, defaultApprovals: 1, undoneBy: 'unsuspend-okta',
    offeredOnLookup: { rank: 60, when: (facts) => facts.okta?.status === 'ACTIVE' },
  },
  'unsuspend-okta': { system: 'okta', label: 'Unsuspend in Okta', destructive: false, defaultApprovals: 1, undoes: 'suspend-okta' },
} as const satisfies Record<ActionName, ActionInfo>;

export const ACTION_CATALOG: Readonly<Record<ActionName, ActionInfo>> = CATALOG;

/** The actions of one system, derived from the catalog: `ActionsOf<'entra'>` is every Entra action. */
export type ActionsOf<S extends ActionSystem> = {
  [A in ActionName]: (typeof CATALOG)[A]['system'] extends S ? A : never;
}[ActionName];

export function isActionName(value: unknown): value is ActionName {
  return typeof value === 'string' && (ACTION_NAMES as readonly string[]).includes(value);
}

export function actionInfo(action: ActionName): ActionInfo {
  return ACTION_CATALOG[action];
}

export function isDestructive(action: ActionName): boolean {
  return actionInfo(action).destructive;
}

export function undoOf(action: ActionName): ActionName | undefined {
  return actionInfo(action).undoneBy;
}

/** Every action of `system`, in catalog order. */
export function actionsOf<S extends ActionSystem>(system: S): ActionsOf<S>[] {
  return ACTION_NAMES.filter((action): action is ActionsOf<S> => ACTION_CATALOG[action].system === system);
}
