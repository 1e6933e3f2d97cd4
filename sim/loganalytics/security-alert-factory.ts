import { randomUUID } from 'node:crypto';
import type { SecurityAlertRow } from './log-analytics-server.ts';

/**
 * Realistic Sentinel `SecurityAlert` rows for Microsoft Defender for Identity alerts, to seed the
 * local Log Analytics server. As in the service, Entities and ExtendedProperties are JSON inside
 * strings, entities carry `$id` and later ones point back with `{"$ref": ...}`, and
 * VendorOriginalId is the Graph alert's providerAlertId.
 */
export interface MdiAccountSpec {
  name: string;
  ntDomain?: string;
  upnSuffix?: string;
  sid?: string;
  aadUserId?: string;
  objectGuid?: string;
  displayName?: string;
}

export interface MdiHostSpec {
  hostName: string;
  dnsDomain?: string;
  ntDomain?: string;
  osFamily?: string;
}

/**
 * How the alert names its product. Only ProductName "Azure Advanced Threat Protection" is
 * documented for MDI (contracts.md); the others are the label variants a robust filter must
 * tolerate after the rename to Microsoft Defender for Identity.
 */
export type MdiLabelVariant = 'aatp' | 'renamed' | 'mixed';

export interface MdiAlertSpec {
  systemAlertId?: string;
  /** The Graph alert's providerAlertId. */
  vendorOriginalId?: string;
  alertName?: string;
  alertType?: string;
  /** Sentinel's values are High|Medium|Low|Informational; anything else models a future value. */
  severity?: string;
  status?: 'New' | 'InProgress' | 'Resolved' | 'Dismissed' | string;
  timeGenerated?: Date | string;
  startTime?: Date | string;
  endTime?: Date | string;
  description?: string;
  tactics?: string;
  techniques?: string[];
  accounts?: MdiAccountSpec[];
  hosts?: MdiHostSpec[];
  ips?: string[];
  labels?: MdiLabelVariant;
  /** A copy rewritten by a Sentinel alert customisation: ExtendedProperties gets OriginalProductName. */
  customised?: boolean;
  tenantId?: string;
  /** Replace the Entities text verbatim (e.g. malformed JSON). */
  entitiesText?: string;
}

export const ALICE: MdiAccountSpec = {
  name: 'alice',
  ntDomain: 'CONTOSO',
  upnSuffix: 'contoso.com',
  sid: 'S-1-5-21-1111111111-2222222222-3333333333-1104',
  aadUserId: '6f1c2d8e-9a34-4b2e-8f61-3c9a4d7ea0b5',
  objectGuid: '0b5e4c1a-7d2f-4e8b-9c36-a1f0d2e3b4c5',
  displayName: 'Alice Example',
};

export const WS_0042: MdiHostSpec = { hostName: 'WS-0042', dnsDomain: 'contoso.com', ntDomain: 'CONTOSO', osFamily: 'Windows' };

const LABELS: Record<MdiLabelVariant, { ProductName: string; ProviderName: string }> = {
  aatp: { ProductName: 'Azure Advanced Threat Protection', ProviderName: 'Azure Advanced Threat Protection' },
  renamed: { ProductName: 'Microsoft Defender for Identity', ProviderName: 'Microsoft Defender for Identity' },
  mixed: { ProductName: 'Azure Advanced Threat Protection', ProviderName: 'Microsoft Defender for Identity' },
};

export function makeMdiSecurityAlert(spec: MdiAlertSpec = {}): SecurityAlertRow {
  const accounts = spec.accounts ?? [ALICE];
  const hosts = spec.hosts ?? [WS_0042];
  const ips = spec.ips ?? ['10.1.2.42'];
  const time = iso(spec.timeGenerated ?? '2026-11-20T09:14:40.000Z');
  const start = iso(spec.startTime ?? new Date(Date.parse(time) - 12 * 60_000));
  const end = iso(spec.endTime ?? new Date(Date.parse(time) - 60_000));
  const vendorOriginalId = spec.vendorOriginalId ?? randomUUID();
  const tenantId = spec.tenantId ?? '11111111-2222-3333-4444-555555555555';
  const first = accounts[0];
  const alertName = spec.alertName ?? 'Suspected Brute Force attack (Kerberos, NTLM)';
  const labels = LABELS[spec.labels ?? 'aatp'];
  return {
    TenantId: '00000000-aaaa-bbbb-cccc-000000000001',
    TimeGenerated: time,
    DisplayName: alertName,
    AlertName: alertName,
    AlertSeverity: spec.severity ?? 'High',
    Description: spec.description ?? `Suspicious number of failed authentication attempts were made against ${first ? `${first.displayName ?? first.name} (${first.ntDomain ?? 'CONTOSO'}\\${first.name})` : 'several accounts'} from ${hosts[0]?.hostName ?? 'an unknown device'}.`,
    ProviderName: labels.ProviderName,
    VendorName: 'Microsoft',
    VendorOriginalId: vendorOriginalId,
    SystemAlertId: spec.systemAlertId ?? randomUUID(),
    ResourceId: '',
    SourceComputerId: '',
    AlertType: spec.alertType ?? 'BruteForceAttackSecurityAlert',
    ConfidenceLevel: '',
    ConfidenceScore: null,
    IsIncident: false,
    StartTime: start,
    EndTime: end,
    ProcessingEndTime: time,
    RemediationSteps: JSON.stringify(['Reset the password of the targeted account.', `Investigate ${hosts[0]?.hostName ?? 'the source device'}.`]),
    // OriginalProductName appears only on customised alerts (see sentinel-query.ts), never on the product's own rows.
    ExtendedProperties: JSON.stringify({
      ...(spec.customised ? { OriginalProductName: 'Azure Advanced Threat Protection' } : {}),
      Category: spec.tactics ?? 'CredentialAccess',
      'Alert Type': spec.alertType ?? 'BruteForceAttackSecurityAlert',
    }),
    Entities: spec.entitiesText ?? entitiesJson(accounts, hosts, ips),
    SourceSystem: 'Detection',
    WorkspaceSubscriptionId: '99999999-8888-7777-6666-555555555555',
    WorkspaceResourceGroup: 'rg-sentinel',
    ExtendedLinks: '',
    ProductName: labels.ProductName,
    ProductComponentName: '',
    AlertLink: `https://security.microsoft.com/alerts/${vendorOriginalId}?tid=${tenantId}`,
    Status: spec.status ?? 'New',
    CompromisedEntity: first ? (first.upnSuffix ? `${first.name}@${first.upnSuffix}` : first.name) : '',
    Tactics: spec.tactics ?? 'CredentialAccess',
    Techniques: JSON.stringify(spec.techniques ?? ['T1110']),
    SubTechniques: JSON.stringify((spec.techniques ?? ['T1110']).filter((t) => t.includes('.'))),
  };
}

/**
 * Sentinel writes each change of an alert as a new row with the same SystemAlertId; a notifier
 * reads the newest with `summarize arg_max(TimeGenerated, *) by SystemAlertId`.
 */
export function makeAlertVersions(base: SecurityAlertRow, changes: SecurityAlertRow[], stepMinutes = 5): SecurityAlertRow[] {
  const start = Date.parse(String(base.TimeGenerated));
  return [base, ...changes.map((change, i) => ({ ...base, TimeGenerated: new Date(start + (i + 1) * stepMinutes * 60_000).toISOString(), ...change }))];
}

export function makeMdiAlertWithoutAccount(spec: MdiAlertSpec = {}): SecurityAlertRow {
  return makeMdiSecurityAlert({ alertName: 'Network-mapping reconnaissance (DNS)', alertType: 'DnsReconnaissanceSecurityAlert', tactics: 'Discovery', techniques: ['T1018'], ...spec, accounts: [] });
}

export function makeMdiAlertWithMalformedEntities(spec: MdiAlertSpec = {}): SecurityAlertRow {
  // Truncated mid-object, as seen when a long Entities value is cut.
  return makeMdiSecurityAlert({ ...spec, entitiesText: '[{"$id":"2","Name":"alice","NTDomain":"CONTOSO","Type":"acco' });
}

export function makeMdiAlertWithUnknownSeverity(spec: MdiAlertSpec = {}): SecurityAlertRow {
  return makeMdiSecurityAlert({ ...spec, severity: 'Critical' });
}

/**
 * Entities in Sentinel's serialisation: every entity gets a `$id` (starting at "2") and an entity
 * mentioned again is a `{"$ref": id}` instead of a copy. Hosts name their accounts by reference
 * (LoggedOnUsers), and the first account recurs once more as a bare top-level `$ref`, so a parser
 * that does not resolve references (or counts `$ref` items as entities) is caught.
 */
function entitiesJson(accounts: MdiAccountSpec[], hosts: MdiHostSpec[], ips: string[]): string {
  let next = 2;
  const entities: Record<string, unknown>[] = [];
  const accountIds: string[] = [];
  for (const a of accounts) {
    const id = String(next++);
    accountIds.push(id);
    entities.push(
      compact({
        $id: id,
        Name: a.name,
        NTDomain: a.ntDomain,
        UPNSuffix: a.upnSuffix,
        Sid: a.sid,
        AadUserId: a.aadUserId,
        ObjectGuid: a.objectGuid,
        DisplayName: a.displayName,
        IsDomainJoined: true,
        Type: 'account',
      }),
    );
  }
  for (const h of hosts) {
    entities.push(
      compact({
        $id: String(next++),
        HostName: h.hostName,
        DnsDomain: h.dnsDomain,
        NTDomain: h.ntDomain,
        OSFamily: h.osFamily,
        FQDN: h.dnsDomain ? `${h.hostName.toLowerCase()}.${h.dnsDomain}` : undefined,
        LoggedOnUsers: accountIds.length ? accountIds.map((ref) => ({ $ref: ref })) : undefined,
        Type: 'host',
      }),
    );
  }
  for (const address of ips) entities.push({ $id: String(next++), Address: address, Type: 'ip' });
  if (accountIds[0]) entities.push({ $ref: accountIds[0] });
  return JSON.stringify(entities);
}

function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

function iso(value: Date | string): string {
  return typeof value === 'string' ? new Date(value).toISOString() : value.toISOString();
}
