/**
 * The containment actions, by stable name: domain vocabulary (ports, policy files, card data, audit).
 * Every containment action the bot knows, by stable name (used in policy files, card data, audit). */
export const ACTION_NAMES = [
  'disable-ad-account',
  'enable-ad-account',
  'reset-password',
  'mark-compromised',
  'dismiss-risk',
  'revoke-sessions',
  'suspend-entra',
  'enable-entra',
  'suspend-okta',
  'unsuspend-okta',
] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

/** Which directory an action runs against; also which capability must be configured. */
export type ActionSystem = 'activeDirectory' | 'entra' | 'okta';

export interface ActionInfo {
  system: ActionSystem;
  /** Short button/audit label, phone-sized. */
  label: string;
  /** Cuts a user off or changes their credentials: dry-run capable, counted by rate caps. */
  destructive: boolean;
  /** The action that reverses this one, when there is one (reset-password and revoke-sessions have none). */
  undoneBy?: ActionName;
  /** Set on undo actions: the action this one reverses. */
  undoes?: ActionName;
}

export const ACTION_CATALOG: Readonly<Record<ActionName, ActionInfo>> = {
  'disable-ad-account': { system: 'activeDirectory', label: 'Disable AD account', destructive: true, undoneBy: 'enable-ad-account' },
  'enable-ad-account': { system: 'activeDirectory', label: 'Enable AD account', destructive: false, undoes: 'disable-ad-account' },
  'reset-password': { system: 'activeDirectory', label: 'Reset AD password', destructive: true },
  'mark-compromised': { system: 'entra', label: 'Mark compromised', destructive: true, undoneBy: 'dismiss-risk' },
  'dismiss-risk': { system: 'entra', label: 'Dismiss user risk', destructive: false, undoes: 'mark-compromised' },
  'revoke-sessions': { system: 'entra', label: 'Revoke sessions', destructive: true },
  'suspend-entra': { system: 'entra', label: 'Disable in Entra ID', destructive: true, undoneBy: 'enable-entra' },
  'enable-entra': { system: 'entra', label: 'Enable in Entra ID', destructive: false, undoes: 'suspend-entra' },
  'suspend-okta': { system: 'okta', label: 'Suspend in Okta', destructive: true, undoneBy: 'unsuspend-okta' },
  'unsuspend-okta': { system: 'okta', label: 'Unsuspend in Okta', destructive: false, undoes: 'suspend-okta' },
};

export function isActionName(value: unknown): value is ActionName {
  return typeof value === 'string' && (ACTION_NAMES as readonly string[]).includes(value);
}

export function isDestructive(action: ActionName): boolean {
  return ACTION_CATALOG[action].destructive;
}

export function undoOf(action: ActionName): ActionName | undefined {
  return ACTION_CATALOG[action].undoneBy;
}
