/**
 * Normalized account keys: the strings alerts are indexed under, so "alerts for this person" and
 * "the recent thread for this account" are plain equality lookups. One account yields several
 * keys (SID, DOMAIN\sam, UPN, object ids) because sources report different subsets of them;
 * two alerts share a person when they share any key. Lower-cased: AD names are case-insensitive.
 */
import type { Alert, AlertAccount } from '../domain/alert.ts';

function clean(value: string | undefined): string | undefined {
  const trimmed = value?.trim().toLowerCase();
  return trimmed ? trimmed : undefined;
}

/** `domain\sam` (lower case), the form analysts type; a bare sam is ambiguous across domains. */
export function samAccountKey(domain: string | undefined, samAccountName: string | undefined): string | undefined {
  const d = clean(domain);
  const s = clean(samAccountName);
  return d && s ? `${d}\\${s}` : undefined;
}

/** Normalizes one identifier an analyst typed (SID, DOMAIN\sam, UPN or GUID) into a key. */
export function normalizeAccountKey(input: string): string {
  return input.trim().toLowerCase();
}

export function accountKeysOf(account: AlertAccount): string[] {
  const keys = [
    clean(account.sid),
    samAccountKey(account.domain, account.samAccountName),
    clean(account.userPrincipalName),
    clean(account.entraObjectId),
    clean(account.adObjectGuid),
  ];
  return [...new Set(keys.filter((key): key is string => key !== undefined))];
}

export function accountKeysOfAlert(alert: Alert): string[] {
  return [...new Set(alert.accounts.flatMap(accountKeysOf))];
}
