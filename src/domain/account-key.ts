import type { Alert, AlertAccount } from './alert.ts';

/**
 * The one account-key format, used in card data, approvals, the audit and the store's index of
 * alerts by account: normalized lookup keys for an account, most stable first: `sid:`, `entra:`,
 * `sam:`, `upn:`.
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

/**
 * Every key an alert is indexed under (alerts for this person, the recent thread for this account):
 * those of each of its accounts, except a bare `sam:` without a domain, which could be anyone of
 * that name in any forest and would thread strangers' alerts together.
 */
export function accountKeysOfAlert(alert: Alert): string[] {
  const keys = alert.accounts.flatMap(accountKeys).filter((key) => !(key.startsWith('sam:') && !key.includes('\\')));
  return [...new Set(keys)];
}

/**
 * A key handed to the store (a query, an audit entry) in the one form keys are stored in: a key
 * stays as it is (lower-cased), a bare identifier (`CORP\\jdoe`, `S-1-…`, a UPN) becomes its key.
 */
export function normalizeAccountKey(key: string): string {
  return accountKeyFromIdentifier(key) ?? key.trim().toLowerCase();
}

/**
 * The key of one bare identifier (`S-1-…`, `CORP\jdoe`, `jdoe@corp`, a GUID) or of a key already
 * in this form; undefined when it is none of these. For what an analyst types (`history CORP\jdoe`)
 * and for data written before the keys were unified, when the store held unprefixed keys (card
 * snapshots kept in the audit). A bare GUID counts as an Entra object id.
 */
export function accountKeyFromIdentifier(key: string): string | undefined {
  const legacy = key.trim().toLowerCase();
  if (/^(sid|entra|sam|upn):/.test(legacy)) return legacy;
  if (/^s-1-\d+(-\d+)+$/.test(legacy)) return `sid:${legacy}`;
  if (GUID.test(legacy)) return `entra:${legacy}`;
  if (legacy.includes('\\')) return `sam:${legacy}`;
  if (legacy.includes('@')) return `upn:${legacy}`;
  return undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function clean(value: string | undefined): string | undefined {
  const trimmed = value?.trim().toLowerCase();
  return trimmed ? trimmed : undefined;
}
