import { createHash } from 'node:crypto';
import { accountKeys } from './account-key.ts';
import type { Alert, AlertAccount, AlertDevice } from './alert.ts';

/**
 * A stable hash of what the alert card shows and an analyst would act on: when it changes, the
 * posted card should be updated. Deliberately left out: ids, source, portal link, timestamps
 * (createdAt/lastUpdatedAt/activity times move on every re-evaluation and would make the bot re-post
 * cards and burn Teams' per-thread rate limit for nothing), and the order in which a source lists
 * accounts, devices or techniques.
 */
export function fingerprintAlert(alert: Alert): string {
  const canonical = {
    title: normalizeText(alert.title),
    description: normalizeText(alert.description),
    severity: alert.severity,
    status: alert.status,
    techniques: [...new Set(alert.mitreTechniques.map((id) => id.toUpperCase()))].sort(),
    accounts: alert.accounts.map(accountShape).sort(),
    devices: alert.devices.map(deviceShape).sort(),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 32);
}

function accountShape(account: AlertAccount): string {
  return JSON.stringify([
    accountKeys(account).sort(),
    normalizeText(account.displayName ?? ''),
    [...new Set(account.roles)].sort(),
  ]);
}

function deviceShape(device: AlertDevice): string {
  return JSON.stringify([
    (device.hostName ?? '').toLowerCase(),
    (device.dnsDomain ?? '').toLowerCase(),
    device.ipAddress ?? '',
    (device.entraDeviceId ?? '').toLowerCase(),
  ]);
}

/** Whitespace-only differences (a re-wrapped description) are not a change. */
function normalizeText(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}
