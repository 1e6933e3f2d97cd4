import { createHash } from 'node:crypto';
import type { ActionName } from '../actions/action-names.ts';
import { accountKeys } from '../domain/account-key.ts';
import type { AlertAccount } from '../domain/alert.ts';
import type { ActionTarget } from '../domain/remediation.ts';

/**
 * One approval per (alert, action, target): its id is derived from the three, so concurrent first
 * clicks all try to insert the same primary key and exactly one insert wins; the others read it.
 */
export function approvalIdFor(alertKey: string, action: ActionName, target: string): string {
  const digest = createHash('sha256').update(`${alertKey}\u0000${action}\u0000${target}`).digest('hex');
  return `apv-${digest.slice(0, 32)}`;
}

/** The stored alert's account the card's target key names (any of its keys), if any. */
export function findAccount(accounts: readonly AlertAccount[], target: string): AlertAccount | undefined {
  return accounts.find((account) => accountKeys(account).includes(target));
}

/** What the Remediation port needs, from the STORED alert (never from card data). */
export function actionTargetOf(account: AlertAccount, accountKey: string): ActionTarget {
  const target: ActionTarget = { accountKey };
  if (account.displayName) target.displayName = account.displayName;
  if (account.samAccountName) target.samAccountName = account.samAccountName;
  if (account.domain) target.domain = account.domain;
  if (account.userPrincipalName) target.userPrincipalName = account.userPrincipalName;
  if (account.sid) target.sid = account.sid;
  if (account.entraObjectId) target.entraObjectId = account.entraObjectId;
  return target;
}

/** Reads an ActionTarget back from an approval row's JSON (written by actionTargetOf). */
export function parseActionTarget(json: Record<string, unknown>): ActionTarget {
  const str = (key: string) => (typeof json[key] === 'string' && json[key] !== '' ? (json[key] as string) : undefined);
  const target: ActionTarget = { accountKey: str('accountKey') ?? 'unknown' };
  for (const key of ['displayName', 'samAccountName', 'domain', 'userPrincipalName', 'sid', 'entraObjectId'] as const) {
    const value = str(key);
    if (value) target[key] = value;
  }
  return target;
}

/** "CORP\jdoe", else the UPN, else the display name: how replies name the account. */
export function targetLabel(target: ActionTarget): string {
  if (target.samAccountName) return target.domain ? `${target.domain}\\${target.samAccountName}` : target.samAccountName;
  return target.userPrincipalName ?? target.displayName ?? target.sid ?? target.entraObjectId ?? target.accountKey;
}
