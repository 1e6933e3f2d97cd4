import type { DirectoryCapabilities } from '../actions/propose-actions.ts';
import { accountKeys, primaryAccountKey } from '../domain/account-key.ts';
import type { Alert, AlertAccount, AlertStatus } from '../domain/alert.ts';
import type { Directory, DirectoryUser } from '../domain/ports/directory.ts';
import { presentError } from '../domain/present-error.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import type { AuditRecord } from '../domain/ports/audit-log.ts';
import type { Store } from '../domain/ports/store.ts';
import type { EntraRisk, EntraUser, EntraUserLookup } from '../domain/ports/entra-user-lookup.ts';
import type { OktaUserLookup, OktaUserSummary } from '../domain/ports/okta-user-lookup.ts';
import type { SentinelAlertLookup, SentinelPersonAlerts } from '../domain/ports/sentinel-alert-lookup.ts';
import { withTimeout, type SourceOutcome } from './with-timeout.ts';

export interface LookupDeps {
  directory?: Directory;
  entra?: EntraUserLookup;
  okta?: OktaUserLookup;
  /** Recent alerts from Sentinel besides the store's; absent when no workspace is configured. */
  sentinel?: SentinelAlertLookup;
  /** How far back Sentinel is searched, in days (default 30). */
  sentinelDays?: number;
  store: Store;
  /** NetBIOS name of the AD domain (CORP), to build DOMAIN\sam keys. */
  netbiosDomain?: string;
  /** Which systems the bot can act on: decides which buttons the card offers. */
  capabilities: DirectoryCapabilities;
  /** Deadline of each source; the answer goes out with what came back by then. */
  sourceTimeoutMs: number;
  /**
   * Deadline of the whole lookup (both rounds: find, then describe). Default 1600 ms, so the card
   * is posted within Teams' patience and our 2-second promise even when a source hangs.
   */
  budgetMs?: number;
}

/** One person a query may mean: their AD account, their Entra account, or both. */
export interface Candidate {
  ad?: DirectoryUser;
  entra?: EntraUser;
}

/** One alert on the lookup card: from the store (with its Ref code) or known to Sentinel only. */
export interface LookupAlert {
  alert: Alert;
  status: AlertStatus;
  /** The store's reference (`approve`/cards use it); absent for an alert only Sentinel knows. */
  code?: string;
  origin: 'store' | 'sentinel';
  /** What the card shows and sorts by: last activity, else when the alert last changed. */
  at: Date;
}

export interface PersonReport extends Candidate {
  entraRisk: SourceOutcome<EntraRisk | undefined>;
  okta: SourceOutcome<OktaUserSummary | undefined>;
  /** Store and Sentinel merged (one entry per alert key), newest first, at most MAX_ALERTS. */
  alerts: LookupAlert[];
  audit: AuditRecord[];
  pending: Approval[];
  /** Normalized key carried in button data (same form as the alert card's `target`). */
  target: string | undefined;
  /** One line per source that did not answer. */
  notes: string[];
}

export type LookupResult =
  | { kind: 'invalid'; message: string }
  | { kind: 'none'; notes: string[] }
  | { kind: 'many'; candidates: Candidate[]; more: boolean; notes: string[] }
  | { kind: 'one'; person: PersonReport };

/** Longest input taken as a name; the LDAP adapter refuses longer too (same limit). */
export const MAX_LOOKUP_LENGTH = 256;
/** A pick list longer than this is not a pick list: ask for a more precise name instead. */
export const MAX_CANDIDATES = 8;
const MAX_ALERTS = 5;
const SENTINEL_DAYS = 30;
const MAX_AUDIT = 8;

function sourceNote(name: string, outcome: SourceOutcome<unknown>): string | undefined {
  if (outcome.kind === 'timeout') return `${name} did not answer in time.`;
  if (outcome.kind === 'failed') return `${name} did not answer: ${outcome.message}`;
  return undefined;
}

/**
 * lookup <who>: asks AD and Entra ID at once (each with its own deadline), merges what they say
 * about the same person (an Entra user synced from AD carries the AD SID), and for one person
 * gathers Okta, Identity Protection, the alerts and the audit in a second parallel round.
 */
export async function lookupPerson(query: string, deps: LookupDeps): Promise<LookupResult> {
  const text = query.trim();
  if (!text) return { kind: 'invalid', message: 'Tell me who: `lookup jdoe`, `lookup CORP\\jdoe`, `lookup jdoe@corp.example`, or part of a name.' };
  if (text.length > MAX_LOOKUP_LENGTH) return { kind: 'invalid', message: `That is longer than ${MAX_LOOKUP_LENGTH} characters, too long to be a name.` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return { kind: 'invalid', message: 'That contains control characters, which no name has.' };

  const deadline = Date.now() + (deps.budgetMs ?? 1600);
  // The first round may use most of the budget; the second gets what is left (at least a little).
  const found = await findCandidates(text, { ...deps, sourceTimeoutMs: Math.min(deps.sourceTimeoutMs, deadline - Date.now() - 300) });
  const { candidates, notes } = found;
  if (candidates.length === 0) return { kind: 'none', notes };
  if (candidates.length > 1) {
    return { kind: 'many', candidates: candidates.slice(0, MAX_CANDIDATES), more: candidates.length > MAX_CANDIDATES, notes };
  }
  const person = await describePerson(candidates[0] as Candidate, { ...deps, sourceTimeoutMs: Math.max(150, Math.min(deps.sourceTimeoutMs, deadline - Date.now())) }, found.entraAnswered);
  return { kind: 'one', person: { ...person, notes: [...notes, ...person.notes] } };
}

/** Who `text` may mean, from AD and Entra ID asked at once; `notes` name sources that did not answer. */
export async function findCandidates(text: string, deps: LookupDeps): Promise<{ candidates: Candidate[]; notes: string[]; entraAnswered: boolean }> {
  const timeout = deps.sourceTimeoutMs;
  const directory = deps.directory;
  const entra = deps.entra;
  const [adOutcome, entraOutcome] = await Promise.all([
    withTimeout(directory && (() => directory.findUsers(text, MAX_CANDIDATES + 1)), timeout, presentError),
    withTimeout(entra && (() => entra.findUsers(text, MAX_CANDIDATES + 1)), timeout, presentError),
  ]);
  const notes = [sourceNote('Active Directory', adOutcome), sourceNote('Entra ID', entraOutcome)].filter((n): n is string => n !== undefined);
  const candidates = mergeCandidates(adOutcome.kind === 'ok' ? adOutcome.value : [], entraOutcome.kind === 'ok' ? entraOutcome.value : []);
  return { candidates, notes, entraAnswered: entraOutcome.kind === 'ok' };
}

/** Every key the store may index this person under (alert keys and the prefixed audit keys). */
export function personKeys(candidate: Candidate, netbiosDomain: string | undefined): string[] {
  const account = accountOf(candidate, netbiosDomain);
  return accountKeys(account);
}

/** One entry per person: an Entra user whose on-premises SID or sam is an AD match joins it. */
export function mergeCandidates(adUsers: DirectoryUser[], entraUsers: EntraUser[]): Candidate[] {
  const candidates: Candidate[] = adUsers.map((ad) => ({ ad }));
  for (const user of entraUsers) {
    const twin = candidates.find(
      (candidate) =>
        candidate.ad &&
        !candidate.entra &&
        ((user.onPremisesSecurityIdentifier && user.onPremisesSecurityIdentifier.toUpperCase() === candidate.ad.sid.toUpperCase()) ||
          (!user.onPremisesSecurityIdentifier && user.onPremisesSamAccountName && user.onPremisesSamAccountName.toLowerCase() === candidate.ad.samAccountName.toLowerCase())),
    );
    if (twin) twin.entra = user;
    else if (!candidates.some((candidate) => candidate.entra?.id === user.id)) candidates.push({ entra: user });
  }
  return candidates;
}

/** The person as account keys: what alerts, audit and approvals are indexed under. */
export function accountOf(candidate: Candidate, netbiosDomain: string | undefined): AlertAccount {
  const { ad, entra } = candidate;
  return {
    samAccountName: ad?.samAccountName ?? entra?.onPremisesSamAccountName ?? undefined,
    domain: netbiosDomain ?? entra?.onPremisesDomainName?.split('.')[0]?.toUpperCase() ?? undefined,
    userPrincipalName: ad?.userPrincipalName ?? entra?.userPrincipalName ?? undefined,
    displayName: ad?.displayName ?? entra?.displayName ?? undefined,
    sid: ad?.sid ?? entra?.onPremisesSecurityIdentifier ?? undefined,
    entraObjectId: entra?.id,
    adObjectGuid: ad?.objectGuid,
    roles: [],
  };
}

async function describePerson(candidate: Candidate, deps: LookupDeps, entraAnswered: boolean): Promise<PersonReport> {
  const timeout = deps.sourceTimeoutMs;
  const notes: string[] = [];
  let { ad, entra } = candidate;
  // The AD match may have a synced Entra twin the text search did not find (e.g. found by sam).
  if (ad && !entra && deps.entra && entraAnswered) {
    const lookup = deps.entra;
    const sid = ad.sid;
    const twin = await withTimeout(() => lookup.findBySid(sid), timeout, presentError);
    if (twin.kind === 'ok') entra = twin.value;
    const note = sourceNote('Entra ID', twin);
    if (note) notes.push(note);
  }
  const account = accountOf({ ad, entra }, deps.netbiosDomain);
  // One key format for the store's alert index, the audit and the approvals (src/domain/account-key.ts).
  const keys = accountKeys(account);
  const oktaLogin = ad?.userPrincipalName ?? entra?.userPrincipalName ?? ad?.mail ?? entra?.mail ?? undefined;
  const okta = deps.okta;
  const entraLookup = deps.entra;
  const entraId = entra?.id;
  const store = deps.store;
  const sentinel = deps.sentinel;
  // A late Sentinel query is cancelled rather than left running once the card has gone out.
  const sentinelAbort = new AbortController();
  const sentinelPerson = { samAccountName: account.samAccountName, domain: account.domain, userPrincipalName: account.userPrincipalName, sid: account.sid, entraObjectId: account.entraObjectId };

  const [entraRisk, oktaOutcome, alerts, sentinelAlerts, audit, pending] = await Promise.all([
    withTimeout(entraLookup && entraId ? () => entraLookup.getRisk(entraId) : undefined, timeout, presentError),
    withTimeout(okta && oktaLogin ? () => okta.findUser(oktaLogin) : undefined, timeout, presentError),
    withTimeout(() => alertsFor(store, keys), timeout, presentError),
    withTimeout(
      sentinel && (() => sentinel.recentAlertsFor(sentinelPerson, { days: deps.sentinelDays ?? SENTINEL_DAYS, limit: MAX_ALERTS, signal: sentinelAbort.signal })),
      timeout,
      presentError,
    ),
    withTimeout(() => auditFor(store, keys), timeout, presentError),
    withTimeout(() => pendingFor(store, keys), timeout, presentError),
  ]);
  if (sentinelAlerts.kind === 'timeout') sentinelAbort.abort(new Error('the lookup answered without Sentinel'));
  for (const [name, outcome] of [
    ['Identity Protection', entraRisk],
    ['Okta', oktaOutcome],
    ['The alert store', alerts],
    ['Sentinel', sentinelAlerts],
    ['The audit log', audit],
    ['The approval store', pending],
  ] as const) {
    const note = sourceNote(name, outcome);
    if (note) notes.push(note);
  }
  if (sentinelAlerts.kind === 'ok' && sentinelAlerts.value.partial) notes.push(sentinelAlerts.value.partial);
  return {
    ad,
    entra,
    entraRisk,
    okta: oktaOutcome,
    alerts: mergeAlerts(alerts.kind === 'ok' ? alerts.value : [], sentinelAlerts.kind === 'ok' ? sentinelAlerts.value : undefined),
    audit: audit.kind === 'ok' ? audit.value : [],
    pending: pending.kind === 'ok' ? pending.value : [],
    target: primaryAccountKey(account),
    notes,
  };
}

async function alertsFor(store: Store, keys: string[]): Promise<AlertRecord[]> {
  const lists = await Promise.all(keys.map((key) => store.listAlertsForAccount(key, MAX_ALERTS)));
  const byKey = new Map<string, AlertRecord>();
  for (const record of lists.flat()) byKey.set(record.key, record);
  // Ordered and bounded with Sentinel's in mergeAlerts.
  return [...byKey.values()];
}

/**
 * The store's alerts and Sentinel's as one list: an alert both know (same key, the provider's
 * alert id) appears once, as the store's entry with its Ref code; newest activity first, bounded.
 */
export function mergeAlerts(stored: AlertRecord[], sentinel: SentinelPersonAlerts | undefined, limit = MAX_ALERTS): LookupAlert[] {
  const byKey = new Map<string, LookupAlert>();
  for (const record of stored) {
    byKey.set(record.key, { alert: record.alert, status: record.status, code: record.code, origin: 'store', at: shownTime(record.alert, record.changedAt) });
  }
  for (const alert of sentinel?.alerts ?? []) {
    if (byKey.has(alert.key)) continue;
    const changed = Date.parse(alert.lastUpdatedAt ?? alert.createdAt ?? '');
    byKey.set(alert.key, { alert, status: alert.status, origin: 'sentinel', at: shownTime(alert, Number.isNaN(changed) ? new Date(0) : new Date(changed)) });
  }
  return [...byKey.values()].sort((a, b) => b.at.getTime() - a.at.getTime()).slice(0, limit);
}

function shownTime(alert: Alert, changedAt: Date): Date {
  const activity = alert.lastActivity ? Date.parse(alert.lastActivity) : Number.NaN;
  return Number.isNaN(activity) ? changedAt : new Date(activity);
}

/** Newest first, one entry once even when it is indexed under several of the person's keys. */
export async function auditFor(store: Store, keys: string[], limit = MAX_AUDIT): Promise<AuditRecord[]> {
  const lists = await Promise.all(keys.map((accountKey) => store.listAudit({ accountKey, limit })));
  const bySeq = new Map<number, AuditRecord>();
  for (const record of lists.flat()) bySeq.set(record.seq, record);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, limit);
}

async function pendingFor(store: Store, keys: string[]): Promise<Approval[]> {
  const wanted = new Set(keys.map((key) => key.toLowerCase()));
  const pending = await store.listPendingApprovals();
  return pending.filter((approval) => Object.values(approval.target).some((value) => typeof value === 'string' && wanted.has(value.toLowerCase())));
}

export { type DirectoryCapabilities };
