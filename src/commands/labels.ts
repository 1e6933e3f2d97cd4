import { ACTION_CATALOG, type ActionName } from '../actions/action-names.ts';
import { safeText } from './safe-text.ts';

/** An action's label from the catalog (`Disable AD account`), or the stored name made safe. */
export function labelOf(action: string): string {
  return action in ACTION_CATALOG ? ACTION_CATALOG[action as ActionName].label : safeText(action, 40);
}

export function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** A readable name for an approval's target record (whatever fields the workflow stored). */
export function targetLabel(target: Record<string, unknown>): string {
  for (const field of ['label', 'targetLabel', 'displayName', 'samAccountName', 'userPrincipalName', 'accountKey']) {
    const value = target[field];
    if (typeof value === 'string' && value) return value;
  }
  const first = Object.values(target).find((value) => typeof value === 'string');
  return typeof first === 'string' ? first : '';
}
