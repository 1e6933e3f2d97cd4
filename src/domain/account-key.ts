import type { AlertAccount } from './alert.ts';

/**
 * Normalized lookup keys for an account, most stable first: `sid:`, `entra:`, `sam:`, `upn:`.
 * Lowercased so that the same person reported as "CORP\JDoe" by one source and "corp\jdoe" by
 * another groups together. Immutable ids come first because a rename changes sam/UPN, not the SID.
 */
export function accountKeys(account: AlertAccount): string[] {
  const keys: string[] = [];
  const sid = clean(account.sid);
  if (sid && /^s-1-\d+(-\d+)+$/.test(sid)) keys.push(`sid:${sid}`);
  const entra = clean(account.entraObjectId);
  if (entra && GUID.test(entra)) keys.push(`entra:${entra}`);
  const sam = clean(account.samAccountName);
  if (sam) {
    const domain = clean(account.domain);
    // Without a domain the sam alone is ambiguous across forests: keep it, but in a form that can
    // never equal a domain-qualified key.
    keys.push(domain ? `sam:${domain}\\${sam}` : `sam:${sam}`);
  }
  const upn = clean(account.userPrincipalName);
  if (upn && upn.includes('@')) keys.push(`upn:${upn}`);
  return keys;
}

/** The one key used to name an account in card data and proposed actions (its most stable key). */
export function primaryAccountKey(account: AlertAccount): string | undefined {
  return accountKeys(account)[0];
}

/** True when two accounts share any normalized key (same person reported differently). */
export function sameAccount(a: AlertAccount, b: AlertAccount): boolean {
  const keysOfB = new Set(accountKeys(b));
  return accountKeys(a).some((key) => keysOfB.has(key));
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function clean(value: string | undefined): string | undefined {
  const trimmed = value?.trim().toLowerCase();
  return trimmed ? trimmed : undefined;
}
