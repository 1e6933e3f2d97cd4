import { assignIfPresent } from '../../shared/assign-if-present.ts';
import { MAX_KEY_LENGTH, isIdentifiedAccount, ALERT_TEXT_LIMITS, boundedText } from '../../domain/alert.ts';
import type { AccountRole, Alert, AlertAccount, AlertDevice, AlertStatus, MappedAlert, Severity } from '../../domain/alert.ts';
import { AppError } from '../../domain/errors.ts';


/**
 * Names under which MDI alerts appear in Sentinel's SecurityAlert table. Older connectors write the
 * product's former name; which of ProductName / ProviderName carries it varies by connector, so
 * both columns (and ExtendedProperties.OriginalProductName) are checked.
 */
export const MDI_PRODUCT_NAMES = ['Azure Advanced Threat Protection', 'Microsoft Defender for Identity'] as const;

export function isMdiSecurityAlertRow(row: Record<string, unknown>): boolean {
  const labels = [row.ProductName, row.ProviderName, parseObject(row.ExtendedProperties)?.OriginalProductName];
  return labels.some((label) => typeof label === 'string' && MDI_PRODUCT_NAMES.some((name) => name.toLowerCase() === label.trim().toLowerCase()));
}

const SEVERITY_BY_LABEL: Record<string, Severity> = {
  high: 'high',
  medium: 'medium',
  low: 'low',
  informational: 'informational',
};

// Sentinel's "Dismissed" is a closed alert: for the card it reads the same as resolved.
const STATUS_BY_LABEL: Record<string, AlertStatus> = {
  new: 'new',
  inprogress: 'inProgress',
  resolved: 'resolved',
  dismissed: 'resolved',
};

/**
 * Maps one row of Sentinel's SecurityAlert table (columns by name; datetime columns as ISO strings
 * or Date objects, as the Log Analytics SDK returns them). Throws AppError('INPUT_INVALID') naming
 * the field only when the row has neither VendorOriginalId nor SystemAlertId.
 */
export function mapSecurityAlertRow(row: Record<string, unknown>): MappedAlert {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new AppError('INPUT_INVALID', 'The SecurityAlert row is not an object.', { details: { field: '(root)' } });
  }
  const systemAlertId = text(row.SystemAlertId);
  const key = text(row.VendorOriginalId) ?? systemAlertId;
  if (!key) {
    throw new AppError('INPUT_INVALID', "The SecurityAlert row has no 'VendorOriginalId' or 'SystemAlertId'.", {
      details: { field: 'SystemAlertId' },
    });
  }
  if (key.length > MAX_KEY_LENGTH || (systemAlertId?.length ?? 0) > MAX_KEY_LENGTH) {
    const field = key.length > MAX_KEY_LENGTH && key !== systemAlertId ? 'VendorOriginalId' : 'SystemAlertId';
    throw new AppError('INPUT_INVALID', `The SecurityAlert row's '${field}' is longer than ${MAX_KEY_LENGTH} characters.`, { details: { field } });
  }
  const warnings: string[] = [];
  const { accounts, devices } = mapEntities(row.Entities, warnings);
  const extended = parseObject(row.ExtendedProperties);

  const alert: Alert = {
    key,
    sourceId: systemAlertId ?? key,
    source: 'sentinel',
    title: boundedText(text(row.DisplayName) ?? text(row.AlertName) ?? '', ALERT_TEXT_LIMITS.title),
    description: boundedText(text(row.Description) ?? '', ALERT_TEXT_LIMITS.description),
    severity: label(SEVERITY_BY_LABEL, row.AlertSeverity, 'AlertSeverity', warnings, 'unknown'),
    status: label(STATUS_BY_LABEL, row.Status, 'Status', warnings, 'unknown'),
    mitreTechniques: techniques(row.Techniques, warnings),
    accounts,
    devices,
  };
  const tactics = text(row.Tactics)?.split(',').map((tactic) => tactic.trim()).filter(Boolean);
  assignIfPresent(alert, 'category', text(extended?.Category) ?? tactics?.[0]);
  assignIfPresent(alert, 'detectorId', text(row.AlertType));
  assignIfPresent(alert, 'firstActivity', date(row.StartTime, 'StartTime', warnings));
  assignIfPresent(alert, 'lastActivity', date(row.EndTime, 'EndTime', warnings));
  assignIfPresent(alert, 'createdAt', date(row.TimeGenerated, 'TimeGenerated', warnings));
  assignIfPresent(alert, 'lastUpdatedAt', date(row.TimeGenerated, 'TimeGenerated', []));
  assignIfPresent(alert, 'portalUrl', httpUrl(row.AlertLink, warnings));
  return { alert, warnings };
}

type Entity = Record<string, unknown>;

/**
 * Entities is JSON inside a string, serialized by .NET with `$id`/`$ref` preservation: an entity
 * seen twice is written once and then referenced as {"$ref":"<id>"} (at top level or nested, e.g. an
 * account's Host). Resolve the references, then keep accounts and hosts.
 */
function mapEntities(value: unknown, warnings: string[]): { accounts: AlertAccount[]; devices: AlertDevice[] } {
  const accounts: AlertAccount[] = [];
  const devices: AlertDevice[] = [];
  if (value === null || value === undefined || value === '') return { accounts, devices };
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      warnings.push('Entities is not valid JSON; alert kept without accounts or devices');
      return { accounts, devices };
    }
  }
  if (!Array.isArray(parsed)) {
    warnings.push('Entities is not a JSON array; alert kept without accounts or devices');
    return { accounts, devices };
  }
  const byId = new Map<string, Entity>();
  collectIds(parsed, byId, 0);
  const seen = new Set<Entity>();
  for (const [index, item] of parsed.entries()) {
    const entity = resolve(item, byId);
    if (!entity) {
      warnings.push(`Entities[${index}] is not an entity or has an unresolved $ref; skipped`);
      continue;
    }
    if (seen.has(entity)) continue;
    seen.add(entity);
    const type = text(entity.Type)?.toLowerCase();
    if (type === 'account') {
      const account = mapAccountEntity(entity);
      if (account) accounts.push(account);
      else warnings.push(`Entities[${index}] account has no name or identifier; skipped`);
    } else if (type === 'host') {
      const device = mapHostEntity(entity);
      if (device) devices.push(device);
    }
  }
  return { accounts, devices };
}

function collectIds(node: unknown, byId: Map<string, Entity>, depth: number): void {
  if (depth > 32 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const child of node) collectIds(child, byId, depth + 1);
    return;
  }
  const entity = node as Entity;
  const id = entity.$id;
  if ((typeof id === 'string' || typeof id === 'number') && !byId.has(String(id))) byId.set(String(id), entity);
  for (const child of Object.values(entity)) collectIds(child, byId, depth + 1);
}

function resolve(item: unknown, byId: Map<string, Entity>): Entity | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const entity = item as Entity;
  const ref = entity.$ref;
  if (typeof ref === 'string' || typeof ref === 'number') return byId.get(String(ref));
  return entity;
}

function mapAccountEntity(entity: Entity): AlertAccount | undefined {
  const account: AlertAccount = { roles: ['unknown' satisfies AccountRole] };
  let name = text(entity.Name);
  let domain = text(entity.NTDomain);
  const upnSuffix = text(entity.UPNSuffix);
  if (name?.includes('\\')) {
    // "DOMAIN\name" written into Name by some connectors.
    const [left, right] = name.split('\\', 2);
    domain = domain ?? text(left);
    name = text(right);
  }
  if (name?.includes('@')) {
    // Cloud accounts sometimes carry the full UPN in Name: it is not a sAMAccountName.
    if (isUpn(name)) assignIfPresent(account, 'userPrincipalName', name);
  } else {
    assignIfPresent(account, 'samAccountName', name);
    if (name && upnSuffix && isUpn(`${name}@${upnSuffix}`)) assignIfPresent(account, 'userPrincipalName', `${name}@${upnSuffix}`);
  }
  assignIfPresent(account, 'domain', domain);
  assignIfPresent(account, 'displayName', boundedText(text(entity.DisplayName), ALERT_TEXT_LIMITS.name));
  assignIfPresent(account, 'sid', text(entity.Sid));
  assignIfPresent(account, 'entraObjectId', text(entity.AadUserId));
  assignIfPresent(account, 'adObjectGuid', text(entity.ObjectGuid));
  return isIdentifiedAccount(account) ? account : undefined;
}

function mapHostEntity(entity: Entity): AlertDevice | undefined {
  const device: AlertDevice = {};
  const fqdn = text(entity.FQDN);
  assignIfPresent(device, 'hostName', text(entity.HostName) ?? fqdn?.split('.')[0]);
  assignIfPresent(device, 'dnsDomain', text(entity.DnsDomain));
  assignIfPresent(device, 'entraDeviceId', text(entity.AadDeviceId));
  return device.hostName ? device : undefined;
}

/** A UPN that is sensible to show and to look up: local@domain.tld, no spaces or backslashes. */
function isUpn(value: string): boolean {
  return /^[^@\s\\]+@[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(value);
}

function label<T extends string>(table: Record<string, T>, value: unknown, field: string, warnings: string[], fallback: T): T {
  const raw = text(value);
  if (!raw) return fallback;
  const mapped = table[raw.toLowerCase()];
  if (mapped) return mapped;
  warnings.push(`${field} '${raw}' is not known; using '${fallback}'`);
  return fallback;
}

const TECHNIQUE = /^T\d{4}(\.\d{3})?$/;

/** Techniques is a JSON array inside a string; a plain comma list is tolerated too. */
function techniques(value: unknown, warnings: string[]): string[] {
  const raw = text(value);
  if (!raw) return [];
  let items: unknown[];
  try {
    const parsed: unknown = JSON.parse(raw);
    items = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    items = raw.split(',');
  }
  const kept: string[] = [];
  for (const item of items) {
    const id = typeof item === 'string' ? item.trim().toUpperCase() : '';
    if (TECHNIQUE.test(id)) kept.push(id);
    else warnings.push(`Techniques entry ${JSON.stringify(item)} is not a technique id; skipped`);
  }
  return [...new Set(kept)];
}

function date(value: unknown, field: string, warnings: string[]): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const time = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) {
    warnings.push(`${field} is not a date; ignored`);
    return undefined;
  }
  return new Date(time).toISOString();
}

function httpUrl(value: unknown, warnings: string[]): string | undefined {
  const raw = text(value);
  if (!raw) return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.toString();
  } catch {
    // an unparsable link is dropped with a warning, not fatal
  }
  warnings.push('AlertLink is not an http(s) URL; ignored');
  return undefined;
}

function parseObject(value: unknown): Record<string, unknown> | undefined {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed ? trimmed : undefined;
}

