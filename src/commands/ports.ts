import type { Alert } from '../domain/alert.ts';
import type { ChatTurn } from '../domain/chat.ts';

/**
 * What the commands need from systems owned by other parts of the bot. Each is a small port so
 * main.ts can hand over the real thing and tests a fake; none of them knows about Teams.
 */

/** An Entra ID user as the lookup shows it (a subset of Graph's user). */
export interface EntraUser {
  id: string;
  displayName: string | null;
  userPrincipalName: string | null;
  mail: string | null;
  accountEnabled: boolean | null;
  /** true: mastered in AD and synced (disable it in AD); null/false: cloud-only. */
  onPremisesSyncEnabled: boolean | null;
  onPremisesSamAccountName: string | null;
  onPremisesSecurityIdentifier: string | null;
  onPremisesDomainName: string | null;
}

export interface EntraRisk {
  riskLevel: string;
  riskState: string;
  riskLastUpdatedDateTime: string | null;
}

/** Read-only Entra ID lookups (Microsoft Graph). Failures are AppErrors with a sentence. */
export interface EntraUserLookup {
  /** Users matching what an analyst typed (UPN, mail, sam, DOMAIN\sam, SID, object id, name prefix). At most `limit`. */
  findUsers(query: string, limit: number): Promise<EntraUser[]>;
  /** The Entra user synced from the AD account with this SID, if any. */
  findBySid(sid: string): Promise<EntraUser | undefined>;
  /** Identity Protection state; undefined when the user was never scored. */
  getRisk(userId: string): Promise<EntraRisk | undefined>;
}

export interface OktaUserSummary {
  id: string;
  /** ACTIVE, SUSPENDED, LOCKED_OUT, DEPROVISIONED... */
  status: string;
  login: string;
  lastLogin: string | null;
}

/** Read-only Okta lookup by login (usually the UPN) or e-mail; undefined when unknown. */
export interface OktaUserLookup {
  findUser(loginOrEmail: string): Promise<OktaUserSummary | undefined>;
}

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

/**
 * The approval use cases as typed commands see them (`approve K7M2QX [2|action]`, `deny K7M2QX
 * reason`, `resume`); the command handler is the only caller for typed commands (one path). The
 * use cases authorise the actor themselves (identity from the turn, authority from the store) and
 * answer with one chat-safe sentence; a refusal is thrown as an AppError (NOT_AUTHORIZED,
 * INPUT_INVALID, NOT_FOUND, CONFLICT...) whose message the handler says privately to the asker.
 */
export interface ApprovalCommands {
  approveByCode(code: string, choice: string | undefined, turn: ChatTurn): Promise<string>;
  denyByCode(code: string, reason: string | undefined, turn: ChatTurn): Promise<string>;
  resume?(turn: ChatTurn): Promise<string>;
  /** Records the buttons of a lookup card the bot just posted (only these can be pressed on it). */
  offerLookupActions?(offer: { conversationId: string; activityId: string; targetKey: string; actions: readonly string[]; offeredTo: string }): Promise<void>;
}

export type SourceHealth = 'ok' | 'failing' | 'disabled' | 'unknown';

export interface AlertSourceStatus {
  /** graph, sentinel... */
  name: string;
  health: SourceHealth;
  lastPollAt?: Date;
  lastSuccessAt?: Date;
  /** One sentence, no secrets. */
  lastError?: string;
}

/** Alert-source health from the notifier (last poll, last error). */
export interface StatusProbe {
  alertSources(): Promise<AlertSourceStatus[]>;
  /** Actions paused (kill switch) or not; undefined when the bot has no such switch. */
  paused?(): Promise<boolean>;
}
