import { AppError } from '../../domain/errors.ts';
import { MDI_PRODUCT_NAMES } from './security-alert-mapper.ts';

/**
 * KQL for the Sentinel alert source: pure text building, no I/O.
 *
 * Which labels mean "MDI" (decided here, see also security-alert-mapper.ts):
 * - ProductName "Azure Advanced Threat Protection": what the MDI data connector writes and what its
 *   own queries filter on (the only label contracts.md confirms). The Defender XDR connector keeps
 *   the product in ProductName too.
 * - "Microsoft Defender for Identity" in ProductName or ProviderName: the current name, used by
 *   Microsoft's MDI automation guide (ProviderName) and after the rename.
 * - NOT ProviderName "MDATP": the Defender XDR connector writes it for Defender for Endpoint alerts
 *   as well, so it would pull in every MDE alert. An MDI alert arriving that way still carries its
 *   ProductName, which the predicate covers.
 */
export const DEFAULT_MDI_PREDICATE = (() => {
  const names = MDI_PRODUCT_NAMES.map((name) => kqlString(name)).join(', ');
  return `ProductName in (${names}) or ProviderName in (${names})`;
})();

/** Rows per query; a full page means the next poll continues from the newest row read. */
export const DEFAULT_ROW_LIMIT = 1000;

const MAX_FILTER_LENGTH = 2000;

export interface SentinelQueryOptions {
  /** Rows INGESTED (ingestion_time()) at or after this instant are read. */
  from: Date;
  /**
   * Rows GENERATED (TimeGenerated) before this instant are not read: the indexed bound that keeps
   * the scan small. Default: `from` minus MAX_INGESTION_DELAY_MS.
   */
  generatedFrom?: Date;
  /** An operator's KQL predicate (SENTINEL_ALERT_FILTER) replacing the MDI default. */
  filter?: string;
  rowLimit?: number;
}

/**
 * How late (ingestion_time() after TimeGenerated) a row may arrive and still be read. Log Analytics
 * ingestion latency varies, usually minutes; rows later than this are taken as lost.
 */
export const MAX_INGESTION_DELAY_MS = 48 * 3_600_000;

/**
 * The MDI data connector's own rule for customised alerts: a row whose ExtendedProperties carries
 * OriginalProductName was rewritten by an alert customisation and is not the product's alert
 * (Azure/Azure-Sentinel, Solutions/Microsoft Defender For Identity/Data Connectors/
 * MicrosoftDefenderforIdentity.JSON: `extend alertWasCustomized = bag_has_key(todynamic(ExtendedProperties),
 * "OriginalProductName") | where alertWasCustomized == false`). The original row is still in the
 * table, so the alert is posted once, from it.
 */
export const NOT_CUSTOMISED_PREDICATE = 'not(bag_has_key(todynamic(ExtendedProperties), "OriginalProductName"))';

/**
 * The newest version of each alert INGESTED since `from`, in ingestion order. Sentinel writes a
 * new SecurityAlert row for every change of an alert (same SystemAlertId), hence the arg_max.
 * The watermark is ingestion_time(), not TimeGenerated: a row may be ingested long after it was
 * generated, and a TimeGenerated watermark would skip it for good. Microsoft's guidance
 * ("Handle ingestion delay in scheduled analytics rules",
 * https://learn.microsoft.com/en-us/azure/sentinel/ingestion-delay) filters on both: ingestion_time()
 * for what is new, TimeGenerated for a bounded, indexed scan.
 */
export function buildSentinelAlertQuery(options: SentinelQueryOptions): string {
  const limit = options.rowLimit ?? DEFAULT_ROW_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > 30_000) throw new AppError('CONFIG_INVALID', 'The Sentinel row limit must be a whole number from 1 to 30000.');
  if (Number.isNaN(options.from.getTime())) throw new AppError('INPUT_INVALID', 'The Sentinel query start is not a valid date.');
  const generatedFrom = options.generatedFrom ?? new Date(options.from.getTime() - MAX_INGESTION_DELAY_MS);
  if (Number.isNaN(generatedFrom.getTime())) throw new AppError('INPUT_INVALID', 'The Sentinel query start is not a valid date.');
  const predicate = options.filter === undefined ? DEFAULT_MDI_PREDICATE : validateKqlPredicate(options.filter);
  return [
    'SecurityAlert',
    `| where TimeGenerated >= datetime(${generatedFrom.toISOString()})`,
    '| extend IngestionTime = ingestion_time()',
    `| where IngestionTime >= datetime(${options.from.toISOString()})`,
    `| where ${predicate === DEFAULT_MDI_PREDICATE ? predicate : `(${predicate})`}`,
    `| where ${NOT_CUSTOMISED_PREDICATE}`,
    '| summarize arg_max(TimeGenerated, *) by SystemAlertId',
    '| sort by IngestionTime asc, SystemAlertId asc',
    `| take ${limit}`,
  ].join('\n');
}

/** How far back a pushed SystemAlertId is looked for (TimeGenerated): a push is about a new alert. */
export const PUSHED_ALERT_LOOKBACK_MS = 7 * 24 * 3_600_000;

const SYSTEM_ALERT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a text is shaped like a Sentinel SystemAlertId (a GUID). */
export function isSystemAlertId(value: string): boolean {
  return SYSTEM_ALERT_ID.test(value);
}

/**
 * The newest version of ONE alert by its SystemAlertId (what a Sentinel automation rule's
 * playbook receives as `SystemAlertId` in the alert trigger body), with the same MDI and
 * not-customised predicates as the poll, so a push can never fetch what the poll would not post.
 */
export function buildSentinelAlertByIdQuery(options: { systemAlertId: string; generatedFrom: Date; filter?: string }): string {
  if (!isSystemAlertId(options.systemAlertId)) throw new AppError('INPUT_INVALID', 'A Sentinel SystemAlertId is a GUID.');
  if (Number.isNaN(options.generatedFrom.getTime())) throw new AppError('INPUT_INVALID', 'The Sentinel query start is not a valid date.');
  const predicate = options.filter === undefined ? DEFAULT_MDI_PREDICATE : `(${validateKqlPredicate(options.filter)})`;
  return [
    'SecurityAlert',
    `| where TimeGenerated >= datetime(${options.generatedFrom.toISOString()})`,
    `| where SystemAlertId == ${kqlString(options.systemAlertId.toLowerCase())}`,
    '| extend IngestionTime = ingestion_time()',
    `| where ${predicate}`,
    `| where ${NOT_CUSTOMISED_PREDICATE}`,
    '| summarize arg_max(TimeGenerated, *) by SystemAlertId',
    '| take 1',
  ].join('\n');
}

/** What the person query may search for; only identifiers that look like what they claim to be are used. */
export interface PersonSearch {
  samAccountName?: string;
  userPrincipalName?: string;
  sid?: string;
  entraObjectId?: string;
}

export interface PersonAlertQueryOptions {
  person: PersonSearch;
  /** Look-back in whole days, 1 to 90. */
  days: number;
  /** Rows to return, 1 to 500. */
  rowLimit: number;
  /** SENTINEL_ALERT_FILTER, replacing the MDI default (validated again here). */
  filter?: string;
}

const SID = /^S-1-[0-9]{1,3}(-[0-9]{1,10}){1,14}$/i;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// local@domain.tld: no spaces, quotes, backslashes or pipes in the local part; a DNS-ish domain.
const UPN = /^[^\s@"\\|;<>()[\]*]{1,64}@[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63}){1,8}$/i;
// sAMAccountName: letters, digits and . _ - ' (AD refuses " / \ [ ] : ; | = , + * ? < >; spaces and @ are legal but not searched for).
const SAM = /^[\p{L}\p{N}._'-]{1,64}$/u;

/**
 * The search terms for a person, most specific first: SID, Entra object id, UPN, then the sam.
 * Anything that does not look like the identifier it claims to be is left out (never "fixed"),
 * so hostile text cannot widen the search; every kept term is still quoted with kqlString.
 */
export function personSearchTerms(person: PersonSearch): string[] {
  const terms: string[] = [];
  const sid = person.sid?.trim();
  if (sid && SID.test(sid)) terms.push(sid.toUpperCase());
  const entra = person.entraObjectId?.trim();
  if (entra && GUID.test(entra)) terms.push(entra.toLowerCase());
  const upn = person.userPrincipalName?.trim();
  if (upn && upn.length <= 256 && UPN.test(upn)) terms.push(upn);
  const sam = person.samAccountName?.trim();
  // "._-" alone is no name: a sam needs at least one letter or digit.
  if (sam && SAM.test(sam) && /[\p{L}\p{N}]/u.test(sam)) terms.push(sam);
  const seen = new Set<string>();
  return terms.filter((term) => {
    const key = term.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The newest version of each MDI alert of the last `days` days whose Entities mention one of the
 * person's identifiers, newest first. `has` is a coarse, indexed prefilter (a sam "jdoe" also hits
 * "CORP\jdoe.admin"): the caller keeps only alerts whose mapped accounts really are the person.
 * Undefined when the person has no usable identifier (then no query is worth sending).
 */
export function buildPersonAlertQuery(options: PersonAlertQueryOptions): string | undefined {
  const { days, rowLimit } = options;
  if (!Number.isInteger(days) || days < 1 || days > 90) throw new AppError('INPUT_INVALID', 'The Sentinel look-back must be a whole number of days from 1 to 90.');
  if (!Number.isInteger(rowLimit) || rowLimit < 1 || rowLimit > 500) throw new AppError('INPUT_INVALID', 'The Sentinel lookup row limit must be a whole number from 1 to 500.');
  const terms = personSearchTerms(options.person);
  if (terms.length === 0) return undefined;
  const predicate = options.filter === undefined ? DEFAULT_MDI_PREDICATE : `(${validateKqlPredicate(options.filter)})`;
  return [
    'SecurityAlert',
    `| where TimeGenerated > ago(${days}d)`,
    `| where ${predicate}`,
    `| where ${terms.map((term) => `Entities has ${kqlString(term)}`).join(' or ')}`,
    '| summarize arg_max(TimeGenerated, *) by SystemAlertId',
    '| sort by TimeGenerated desc, SystemAlertId asc',
    `| take ${rowLimit}`,
  ].join('\n');
}

/** A KQL string literal: double-quoted with backslash escapes, as Kusto reads it. */
export function kqlString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

/**
 * Checks that an operator's filter is ONE predicate: it is pasted inside `where ( ... )`, so a
 * pipe, a statement separator, a comment (which would swallow the closing parenthesis) or an
 * unbalanced parenthesis outside string literals would change the query's shape instead of its
 * filter. Returns the trimmed predicate; throws AppError CONFIG_INVALID with a sentence otherwise.
 */
export function validateKqlPredicate(filter: string): string {
  const text = filter.trim();
  const fail = (why: string) => new AppError('CONFIG_INVALID', `SENTINEL_ALERT_FILTER must be a single KQL predicate such as ProductName == "Azure Advanced Threat Protection": ${why}.`);
  if (text === '') throw fail('it is empty');
  if (text.length > MAX_FILTER_LENGTH) throw fail(`it is longer than ${MAX_FILTER_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) throw fail('it contains control characters');
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"' || c === "'") {
      const verbatim = text[i - 1] === '@';
      i = skipString(text, i, verbatim);
      if (i < 0) throw fail('a string literal is not closed');
      continue;
    }
    if (c === '`') throw fail('multi-line string literals are not accepted');
    if (c === '|') throw fail("it contains '|' (pipe) outside a string");
    if (c === ';') throw fail("it contains ';' outside a string");
    if (c === '/' && text[i + 1] === '/') throw fail("it contains a '//' comment");
    if (c === '(') depth++;
    if (c === ')' && --depth < 0) throw fail("it has a ')' without its '('");
    i++;
  }
  if (depth !== 0) throw fail("it has a '(' without its ')'");
  return text;
}

/** Index just past the literal starting at `start`, or -1 when it never ends. */
function skipString(text: string, start: number, verbatim: boolean): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (!verbatim && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      // In a verbatim literal a doubled quote stands for one quote.
      if (verbatim && text[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    if (c === '\n' || c === '\r') return -1;
    i++;
  }
  return -1;
}
