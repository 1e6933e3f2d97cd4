import type { Alert } from '../alert.ts';

/** Who to look for in Sentinel: the identifiers the directories gave for one person. */
export interface SentinelPerson {
  samAccountName?: string;
  /** NetBIOS domain (CORP): a sam matches only an account of this domain. */
  domain?: string;
  userPrincipalName?: string;
  /** On-premises SID, S-1-5-21-... */
  sid?: string;
  entraObjectId?: string;
}

export interface SentinelPersonAlerts {
  /** Newest first, at most the limit asked; only alerts naming this person among their accounts. */
  alerts: Alert[];
  /** One sentence when Log Analytics answered with part of the result only. */
  partial?: string;
}

/**
 * Recent MDI alerts about one person from Microsoft Sentinel (the SecurityAlert table), for the
 * lookup card. Read-only; a failure is an AppError with a sentence. A person with no identifier
 * usable in a query gets no alerts without a query being sent.
 */
export interface SentinelAlertLookup {
  recentAlertsFor(person: SentinelPerson, options: { days: number; limit: number; signal?: AbortSignal }): Promise<SentinelPersonAlerts>;
}
