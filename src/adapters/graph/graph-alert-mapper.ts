import { assignIfPresent } from '../../shared/assign-if-present.ts';
import { z } from 'zod';
import { ALERT_STATUSES, MAX_KEY_LENGTH, SEVERITIES, isIdentifiedAccount, ALERT_TEXT_LIMITS, boundedText } from '../../domain/alert.ts';
import type { AccountRole, Alert, AlertAccount, AlertDevice, AlertStatus, MappedAlert, Severity } from '../../domain/alert.ts';
import { AppError } from '../../domain/errors.ts';

// Every field is optional and falls back instead of failing: Graph adds enum values and evidence
// types over time, and one odd field must not cost us the whole alert.
const optString = z.string().nullish().catch(null);
const stringList = z.array(z.unknown()).nullish().catch(null);

const userAccountSchema = z
  .object({
    accountName: optString,
    domainName: optString,
    userSid: optString,
    azureAdUserId: optString,
    userPrincipalName: optString,
    displayName: optString,
    activeDirectoryObjectGuid: optString,
  })
  .loose();

const evidenceSchema = z
  .object({
    '@odata.type': optString,
    roles: stringList,
    userAccount: userAccountSchema.nullish().catch(null),
    hostName: optString,
    deviceDnsName: optString,
    dnsDomain: optString,
    azureAdDeviceId: optString,
    ipInterfaces: stringList,
  })
  .loose();

const graphAlertSchema = z
  .object({
    id: optString,
    providerAlertId: optString,
    title: optString,
    description: optString,
    severity: optString,
    status: optString,
    category: optString,
    detectorId: optString,
    mitreTechniques: stringList,
    createdDateTime: optString,
    lastUpdateDateTime: optString,
    firstActivityDateTime: optString,
    lastActivityDateTime: optString,
    alertWebUrl: optString,
    incidentId: optString,
    evidence: z.array(z.unknown()).nullish().catch(null),
  })
  .loose();


const USER_EVIDENCE = '#microsoft.graph.security.userEvidence';
const DEVICE_EVIDENCE = '#microsoft.graph.security.deviceEvidence';
const KNOWN_ROLES: readonly AccountRole[] = ['compromised', 'attacker', 'attacked', 'suspicious', 'contextual'];

/**
 * Maps one Graph `security/alerts_v2` object into the provider-neutral Alert. Throws an
 * AppError('INPUT_INVALID') naming the field only when the alert has no id at all (nothing to key
 * it on); everything else degrades to empty values plus a warning.
 */
export function mapGraphAlert(raw: unknown): MappedAlert {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AppError('INPUT_INVALID', 'The Graph alert is not a JSON object.', { details: { field: '(root)' } });
  }
  const source = graphAlertSchema.parse(raw);
  const sourceId = nonEmpty(source.id);
  const key = nonEmpty(source.providerAlertId) ?? sourceId;
  if (!key || !sourceId) {
    throw new AppError('INPUT_INVALID', "The Graph alert has no usable 'id'.", { details: { field: 'id' } });
  }
  // Keys travel in card button data and database keys: an absurd one is a broken or hostile record.
  if (key.length > MAX_KEY_LENGTH || sourceId.length > MAX_KEY_LENGTH) {
    const field = key.length > MAX_KEY_LENGTH && key !== sourceId ? 'providerAlertId' : 'id';
    throw new AppError('INPUT_INVALID', `The Graph alert's '${field}' is longer than ${MAX_KEY_LENGTH} characters.`, { details: { field } });
  }
  const warnings: string[] = [];
  const accounts: AlertAccount[] = [];
  const devices: AlertDevice[] = [];

  for (const [index, item] of (source.evidence ?? []).entries()) {
    const evidence = evidenceSchema.safeParse(item);
    if (!evidence.success) {
      warnings.push(`evidence[${index}] is not an object; skipped`);
      continue;
    }
    const type = evidence.data['@odata.type'];
    if (type === USER_EVIDENCE) {
      const account = mapUserEvidence(evidence.data);
      if (account) accounts.push(account);
      else warnings.push(`evidence[${index}] userEvidence has no usable userAccount; skipped`);
    } else if (type === DEVICE_EVIDENCE) {
      const device = mapDeviceEvidence(evidence.data);
      if (device) devices.push(device);
      else warnings.push(`evidence[${index}] deviceEvidence has no host name or address; skipped`);
    }
    // Other evidence types (ip, process, file, cloud app...) carry nothing the bot acts on.
  }

  const alert: Alert = {
    key,
    sourceId,
    source: 'graph',
    title: boundedText(nonEmpty(source.title) ?? '', ALERT_TEXT_LIMITS.title),
    description: boundedText(nonEmpty(source.description) ?? '', ALERT_TEXT_LIMITS.description),
    severity: oneOf(SEVERITIES, source.severity, 'severity', warnings) as Severity,
    status: oneOf(ALERT_STATUSES, source.status, 'status', warnings) as AlertStatus,
    mitreTechniques: techniques(source.mitreTechniques, warnings),
    accounts,
    devices,
  };
  assignIfPresent(alert, 'category', nonEmpty(source.category));
  assignIfPresent(alert, 'detectorId', nonEmpty(source.detectorId));
  assignIfPresent(alert, 'firstActivity', isoDate(source.firstActivityDateTime, 'firstActivityDateTime', warnings));
  assignIfPresent(alert, 'lastActivity', isoDate(source.lastActivityDateTime, 'lastActivityDateTime', warnings));
  assignIfPresent(alert, 'createdAt', isoDate(source.createdDateTime, 'createdDateTime', warnings));
  assignIfPresent(alert, 'lastUpdatedAt', isoDate(source.lastUpdateDateTime, 'lastUpdateDateTime', warnings));
  assignIfPresent(alert, 'portalUrl', httpUrl(source.alertWebUrl, 'alertWebUrl', warnings));
  assignIfPresent(alert, 'incidentId', boundedText(nonEmpty(source.incidentId), 64));
  return { alert, warnings };
}

function mapUserEvidence(evidence: z.infer<typeof evidenceSchema>): AlertAccount | undefined {
  const user = evidence.userAccount;
  if (!user) return undefined;
  const account: AlertAccount = { roles: roles(evidence.roles) };
  assignIfPresent(account, 'samAccountName', nonEmpty(user.accountName));
  assignIfPresent(account, 'domain', nonEmpty(user.domainName));
  assignIfPresent(account, 'userPrincipalName', nonEmpty(user.userPrincipalName));
  assignIfPresent(account, 'displayName', boundedText(nonEmpty(user.displayName), ALERT_TEXT_LIMITS.name));
  assignIfPresent(account, 'sid', nonEmpty(user.userSid));
  assignIfPresent(account, 'entraObjectId', nonEmpty(user.azureAdUserId));
  assignIfPresent(account, 'adObjectGuid', nonEmpty(user.activeDirectoryObjectGuid));
  return isIdentifiedAccount(account) ? account : undefined;
}

function mapDeviceEvidence(evidence: z.infer<typeof evidenceSchema>): AlertDevice | undefined {
  const device: AlertDevice = {};
  const dnsName = nonEmpty(evidence.deviceDnsName);
  assignIfPresent(device, 'hostName', nonEmpty(evidence.hostName) ?? dnsName?.split('.')[0]);
  assignIfPresent(device, 'dnsDomain', nonEmpty(evidence.dnsDomain));
  assignIfPresent(device, 'entraDeviceId', nonEmpty(evidence.azureAdDeviceId));
  const ip = (evidence.ipInterfaces ?? []).find((value): value is string => typeof value === 'string' && value.trim() !== '');
  assignIfPresent(device, 'ipAddress', ip?.trim());
  return device.hostName || device.ipAddress ? device : undefined;
}

/**
 * Roles the bot reasons about are kept; others (source, destination, unknownFutureValue...) are
 * dropped. 'unknown' is given only when no known role remains: an "attacker" that also carries a
 * future role must not turn into a containment target through its unknown one.
 */
function roles(values: unknown[] | null | undefined): AccountRole[] {
  const known = (values ?? []).filter(
    (value): value is AccountRole => typeof value === 'string' && (KNOWN_ROLES as readonly string[]).includes(value),
  );
  return known.length > 0 ? [...new Set(known)] : ['unknown'];
}

function oneOf(allowed: readonly string[], value: string | null | undefined, field: string, warnings: string[]): string {
  if (value && allowed.includes(value)) return value;
  if (value && value !== 'unknownFutureValue') warnings.push(`${field} '${value}' is not known; using 'unknown'`);
  return 'unknown';
}

const TECHNIQUE = /^T\d{4}(\.\d{3})?$/;

function techniques(values: unknown[] | null | undefined, warnings: string[]): string[] {
  const kept: string[] = [];
  for (const value of values ?? []) {
    const id = typeof value === 'string' ? value.trim().toUpperCase() : '';
    if (TECHNIQUE.test(id)) kept.push(id);
    else warnings.push(`mitreTechniques entry ${JSON.stringify(value)} is not a technique id; skipped`);
  }
  return [...new Set(kept)];
}

function isoDate(value: string | null | undefined, field: string, warnings: string[]): string | undefined {
  if (!value) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    warnings.push(`${field} is not a date; ignored`);
    return undefined;
  }
  return new Date(time).toISOString();
}

/** Only http(s) links are kept: the URL ends up behind a button in the card. */
function httpUrl(value: string | null | undefined, field: string, warnings: string[]): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.toString();
  } catch {
    // fall through to the warning: an unparsable link is dropped, not fatal
  }
  warnings.push(`${field} is not an http(s) URL; ignored`);
  return undefined;
}

function nonEmpty(value: string | null | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** Keeps absent fields absent (not `undefined`-valued) so equality and JSON stay clean. */
