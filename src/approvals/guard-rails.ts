import { ACTION_CATALOG, type ActionName } from '../actions/action-names.ts';
import type { ActionTarget, FoundIdentity, TargetInspection } from '../domain/remediation.ts';

/**
 * Accounts the bot must be careful with. Lists come from configuration (PROTECTED_ACCOUNTS, the
 * bot's own service accounts) and may name an account by sAMAccountName, DOMAIN\sam, UPN, SID,
 * Entra object id or distinguished name; matching is case-insensitive on any identifier, both
 * those the alert carries and those the directories returned when the account was inspected (an
 * alert may name the bot's own account only by SID). A DN entry is compared as a whole DN with
 * the DNs found, and, as before, by its CN with the names.
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

function identifiers(target: ActionTarget, found: readonly FoundIdentity[] = []): Set<string> {
  const ids = [target.samAccountName, target.userPrincipalName, target.sid, target.entraObjectId, target.displayName];
  if (target.samAccountName && target.domain) ids.push(`${target.domain}\\${target.samAccountName}`);
  // The UPN's local part is often the sAMAccountName (and the other way round).
  if (target.userPrincipalName?.includes('@')) ids.push(target.userPrincipalName.split('@')[0]);
  // The normalized key (sid:…, upn:…, sam:DOMAIN\sam, entra:…) names the account too.
  const key = /^(?:sid|entra|upn|sam):(.+)$/.exec(target.accountKey?.trim() ?? '')?.[1];
  if (key) ids.push(key, ...(key.includes('\\') ? [key.slice(key.indexOf('\\') + 1)] : []));
  for (const identity of found) {
    ids.push(identity.sid, identity.samAccountName, identity.userPrincipalName, identity.entraObjectId, identity.oktaUserId, identity.login);
    if (identity.samAccountName && identity.domain) ids.push(`${identity.domain}\\${identity.samAccountName}`);
    if (identity.userPrincipalName?.includes('@')) ids.push(identity.userPrincipalName.split('@')[0]);
  }
  return new Set(ids.filter((id): id is string => typeof id === 'string' && id !== '').map((id) => id.trim().toLowerCase()));
}

/** DNs the directories found for the account, normalized for comparison. */
function foundDns(found: readonly FoundIdentity[]): Set<string> {
  return new Set(found.map((identity) => identity.dn).filter((dn): dn is string => typeof dn === 'string' && dn !== '').map(normalizeDn));
}

/** Case-insensitive, without the optional spaces around `,` and `=` between RDNs (escapes kept). */
function normalizeDn(dn: string): string {
  return dn
    .trim()
    .replace(/\s*(?<!\\)([,=])\s*/g, '$1')
    .toLowerCase();
}

function isDn(entry: string): boolean {
  return /^\s*[a-z][a-z0-9-]*\s*=.+,\s*[a-z][a-z0-9-]*\s*=/i.test(entry);
}

/** An entry like `CN=svc-bot,OU=…` names the account by its CN: compare the CN. */
function entryForms(entry: string): string[] {
  const value = entry.trim().toLowerCase();
  if (value === '') return [];
  const cn = /^cn=((?:\\.|[^,])+)/.exec(value)?.[1]?.replace(/\\(.)/g, '$1');
  return cn ? [value, cn] : [value];
}

/** The first entry naming the account, by the alert's identifiers or by those the directories found. */
export function matchesAny(target: ActionTarget, entries: readonly string[], found: readonly FoundIdentity[] = []): string | undefined {
  const ids = identifiers(target, found);
  const dns = foundDns(found);
  return entries.find((entry) => entryForms(entry).some((form) => ids.has(form)) || (isDn(entry) && dns.has(normalizeDn(entry))));
}

/**
 * Decides, before anything is approved, how many approvers this action needs on this account, or
 * refuses it. The stricter rule wins: a protected or privileged account needs at least
 * `protectedApprovals` distinct approvers, never fewer than the policy's count.
 */
export function decideGuardRails(action: ActionName, target: ActionTarget, inspection: TargetInspection, policyApprovals: number, settings: GuardSettings, label: string): GuardDecision {
  const found = inspection.identities ?? [];
  if (matchesAny(target, settings.serviceAccounts, found)) {
    return { kind: 'refuse', reason: `${label} is one of the bot's own service accounts; the bot never acts on itself.` };
  }
  if (!inspection.found) return { kind: 'refuse', reason: `${label} was not found in the directory this action targets.` };
  // The catalog says which actions Entra ID refuses on users mastered on-premises.
  if (inspection.syncedFromAd && ACTION_CATALOG[action].cloudMasteredOnly) {
    return { kind: 'refuse', reason: `${label} is synced from AD and Entra ID refuses to change it: disable it in AD and revoke its sessions instead.` };
  }
  const listed = matchesAny(target, settings.protectedAccounts, found);
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
