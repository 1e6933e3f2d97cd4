import type { ActionName } from '../actions/action-names.ts';
import type { ActionTarget, TargetInspection } from '../domain/remediation.ts';

/**
 * Accounts the bot must be careful with. Lists come from configuration (PROTECTED_ACCOUNTS, the
 * bot's own service accounts) and may name an account by sAMAccountName, DOMAIN\sam, UPN, SID,
 * Entra object id or distinguished name; matching is case-insensitive on any identifier.
 */
export type GuardDecision =
  | { kind: 'allow'; requiredApprovals: number }
  | { kind: 'refuse'; reason: string };

export interface GuardSettings {
  protectedAccounts: readonly string[];
  /** The bot's own accounts (LDAP bind account, Graph/Okta service users): never acted on. */
  serviceAccounts: readonly string[];
  /** Approvals a protected or privileged account needs; 'refuse' = never by one click. */
  protectedApprovals: number | 'refuse';
}

function identifiers(target: ActionTarget): Set<string> {
  const ids = [target.samAccountName, target.userPrincipalName, target.sid, target.entraObjectId, target.displayName];
  if (target.samAccountName && target.domain) ids.push(`${target.domain}\\${target.samAccountName}`);
  // The UPN's local part is often the sAMAccountName (and the other way round).
  if (target.userPrincipalName?.includes('@')) ids.push(target.userPrincipalName.split('@')[0]);
  return new Set(ids.filter((id): id is string => typeof id === 'string' && id !== '').map((id) => id.trim().toLowerCase()));
}

/** An entry like `CN=svc-bot,OU=…` names the account by its CN: compare the CN. */
function entryForms(entry: string): string[] {
  const value = entry.trim().toLowerCase();
  if (value === '') return [];
  const cn = /^cn=((?:\\.|[^,])+)/.exec(value)?.[1]?.replace(/\\(.)/g, '$1');
  return cn ? [value, cn] : [value];
}

export function matchesAny(target: ActionTarget, entries: readonly string[]): string | undefined {
  const ids = identifiers(target);
  return entries.find((entry) => entryForms(entry).some((form) => ids.has(form)));
}

/**
 * Decides, before anything is approved, how many approvers this action needs on this account, or
 * refuses it. The stricter rule wins: a protected or privileged account needs at least
 * `protectedApprovals` distinct approvers, never fewer than the policy's count.
 */
export function decideGuardRails(action: ActionName, target: ActionTarget, inspection: TargetInspection, policyApprovals: number, settings: GuardSettings, label: string): GuardDecision {
  if (matchesAny(target, settings.serviceAccounts)) {
    return { kind: 'refuse', reason: `${label} is one of the bot's own service accounts; the bot never acts on itself.` };
  }
  if (!inspection.found) return { kind: 'refuse', reason: `${label} was not found in the directory this action targets.` };
  if (inspection.syncedFromAd && (action === 'suspend-entra' || action === 'enable-entra')) {
    return { kind: 'refuse', reason: `${label} is synced from AD and Entra ID refuses to change it: disable it in AD and revoke its sessions instead.` };
  }
  const listed = matchesAny(target, settings.protectedAccounts);
  const why = [...(listed ? ['listed in PROTECTED_ACCOUNTS'] : []), ...(inspection.privileged ? inspection.reasons : [])];
  if (listed || inspection.privileged) {
    const because = why.length > 0 ? why.join(', ') : 'privileged';
    if (settings.protectedApprovals === 'refuse') {
      return { kind: 'refuse', reason: `${label} is a protected account (${because}); contain it by hand.` };
    }
    return { kind: 'allow', requiredApprovals: Math.max(policyApprovals, settings.protectedApprovals) };
  }
  return { kind: 'allow', requiredApprovals: policyApprovals };
}
