/**
 * The provider-neutral alert: what every alert source maps into and what the rest of the bot
 * reads. Fields a source lacks stay undefined or empty; enum-like fields keep unknown values
 * as "unknown" rather than failing, because vendors add values over time.
 */
export type AlertSourceName = 'graph' | 'sentinel';

export const SEVERITIES = ['unknown', 'informational', 'low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALERT_STATUSES = ['unknown', 'new', 'inProgress', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export type AccountRole = 'compromised' | 'attacker' | 'attacked' | 'suspicious' | 'contextual' | 'unknown';

export interface AlertAccount {
  /** sAMAccountName, without the domain. */
  samAccountName?: string;
  /** NetBIOS domain name (CORP), as MDI reports it. */
  domain?: string;
  userPrincipalName?: string;
  displayName?: string;
  /** On-premises security identifier, S-1-5-21-... */
  sid?: string;
  /** Entra ID (Azure AD) object id. */
  entraObjectId?: string;
  /** On-premises objectGUID. */
  adObjectGuid?: string;
  roles: AccountRole[];
}

export interface AlertDevice {
  hostName?: string;
  dnsDomain?: string;
  ipAddress?: string;
  entraDeviceId?: string;
}

export interface Alert {
  /**
   * Stable identity across sources: the provider's own alert id (Graph `providerAlertId`,
   * Sentinel `VendorOriginalId`). An alert seen in both sources has the same key.
   */
  key: string;
  /** Id within the source it was read from (Graph `id`, Sentinel `SystemAlertId`). */
  sourceId: string;
  source: AlertSourceName;
  title: string;
  description: string;
  severity: Severity;
  status: AlertStatus;
  category?: string;
  /** Detector / alert type id (Graph `detectorId`, Sentinel `AlertType`): matched by the action policy. */
  detectorId?: string;
  mitreTechniques: string[];
  firstActivity?: string; // ISO 8601
  lastActivity?: string; // ISO 8601
  createdAt?: string; // ISO 8601
  lastUpdatedAt?: string; // ISO 8601
  portalUrl?: string;
  /** The Defender XDR incident the alert belongs to (Graph `incidentId`): write-back comments there too. */
  incidentId?: string;
  accounts: AlertAccount[];
  devices: AlertDevice[];
}

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** An account the bot can act on or group by: it carries at least one identifier. */
export function isIdentifiedAccount(account: AlertAccount): boolean {
  return Boolean(account.samAccountName || account.userPrincipalName || account.sid || account.entraObjectId);
}

/** An alert mapped from a source's record, plus what was skipped on the way, so the caller can log it. */
export interface MappedAlert {
  alert: Alert;
  warnings: string[];
}

/** Longest alert id a mapper accepts (the store's key column); real ones are GUID-like (36-40 characters). */
export const MAX_KEY_LENGTH = 256;

/**
 * Longest alert texts kept from a source: far above what a card shows (a 120-character title, a
 * 320-character summary), so nothing visible is lost, and every later step (fingerprint, card,
 * store) works on a bounded text whatever the source sends.
 */
export const ALERT_TEXT_LIMITS = { title: 1_024, description: 8_192, name: 512 } as const;

/** `value` cut to `max` characters (undefined stays undefined). */
export function boundedText<T extends string | undefined>(value: T, max: number): T {
  return (value === undefined || value.length <= max ? value : value.slice(0, max)) as T;
}
