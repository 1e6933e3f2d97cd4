import { randomBytes, randomUUID } from 'node:crypto';
import type { GraphAlert, TenantUser } from '../tenant.ts';

/**
 * Builds Microsoft Defender for Identity alerts as Graph alerts_v2 returns them (the shape of
 * /work/shared/fixtures/graph-alerts_v2-page.json), varied on purpose: several accounts or none,
 * enum values added after our code was written, evidence types we do not know, nulls.
 */

export type MdiAlertKind = 'dcsync' | 'bruteForce' | 'passTheHash' | 'passTheTicket' | 'ldapEnumeration' | 'goldenTicket' | 'honeytoken';

interface KindSpec {
  title: string;
  category: string;
  severity: string;
  mitreTechniques: string[];
  detectorId: string;
  describe: (who: string, host: string) => string;
  recommendedActions: string;
}

const KINDS: Record<MdiAlertKind, KindSpec> = {
  dcsync: {
    title: 'Suspected DCSync attack (replication of directory services)',
    category: 'CredentialAccess',
    severity: 'high',
    mitreTechniques: ['T1003', 'T1003.006'],
    detectorId: '2006',
    describe: (who, host) => `${who} on ${host} sent replication requests to DC1. Replication requests from a non-domain-controller can expose every password hash in the domain.`,
    recommendedActions: '1. Validate that the source is not a domain controller.\n2. Reset the account password and disable the account if not legitimate.\n3. Reset krbtgt twice.',
  },
  bruteForce: {
    title: 'Suspected brute-force attack (Kerberos, NTLM)',
    category: 'CredentialAccess',
    severity: 'medium',
    mitreTechniques: ['T1110', 'T1110.001', 'T1110.003'],
    detectorId: '2023',
    describe: (who, host) => `Suspicious number of failed authentication attempts were made against ${who} from ${host}. 318 passwords were guessed in 7 minutes.`,
    recommendedActions: '1. Reset the passwords of the guessed accounts.\n2. Investigate the source computer.',
  },
  passTheHash: {
    title: 'Suspected identity theft (pass-the-hash)',
    category: 'LateralMovement',
    severity: 'high',
    mitreTechniques: ['T1550', 'T1550.002'],
    detectorId: '2017',
    describe: (who, host) => `${who}'s hash was used from ${host} to access resources on FS01, although the hash was issued to another computer.`,
    recommendedActions: '1. Revoke the account sessions and reset its password.\n2. Isolate the source computer.',
  },
  passTheTicket: {
    title: 'Suspected identity theft (pass-the-ticket)',
    category: 'LateralMovement',
    severity: 'high',
    mitreTechniques: ['T1550', 'T1550.003'],
    detectorId: '2018',
    describe: (who, host) => `${who}'s Kerberos ticket was used on ${host}, although it was issued to another computer.`,
    recommendedActions: '1. Reset the account password.\n2. Investigate the source computer.',
  },
  ldapEnumeration: {
    title: 'Account enumeration reconnaissance (LDAP)',
    category: 'Discovery',
    severity: 'medium',
    mitreTechniques: ['T1087', 'T1087.002'],
    detectorId: '2003',
    describe: (who, host) => `${who} on ${host} ran suspicious LDAP queries enumerating 1,204 accounts.`,
    recommendedActions: '1. Investigate the source computer and the querying account.',
  },
  goldenTicket: {
    title: 'Suspected Golden Ticket usage (encryption downgrade)',
    category: 'CredentialAccess',
    severity: 'high',
    mitreTechniques: ['T1558', 'T1558.001'],
    detectorId: '2009',
    describe: (who, host) => `Encryption downgrade activity: ${who} used a ticket with RC4 encryption from ${host}.`,
    recommendedActions: '1. Reset krbtgt twice.\n2. Investigate the source computer.',
  },
  honeytoken: {
    title: 'Honeytoken authentication activity',
    category: 'CredentialAccess',
    severity: 'low',
    mitreTechniques: ['T1078'],
    detectorId: '2014',
    describe: (who, host) => `${who}, a honeytoken account, authenticated from ${host}.`,
    recommendedActions: '1. Investigate the source computer.',
  },
};

export const MDI_ALERT_KINDS = Object.keys(KINDS) as MdiAlertKind[];

/** A raw userAccount (any field may be missing or null) plus the evidence roles. */
export interface AccountInput {
  accountName?: string | null;
  domainName?: string | null;
  userSid?: string | null;
  azureAdUserId?: string | null;
  userPrincipalName?: string | null;
  displayName?: string | null;
  activeDirectoryObjectGuid?: string | null;
  roles?: string[];
}

export interface MdiAlertOptions {
  kind?: MdiAlertKind;
  id?: string;
  providerAlertId?: string;
  tenantId?: string;
  incidentId?: string | null;
  /** Any string: real values, `unknownFutureValue`, or one Graph adds later (e.g. 'critical'). */
  severity?: string;
  status?: string;
  classification?: string | null;
  determination?: string | null;
  title?: string;
  /** Accounts named in userEvidence; [] for a device-only alert. Default: one synthetic account. */
  accounts?: Array<TenantUser | AccountInput>;
  /** NetBIOS domain for accounts built from TenantUser (default CORP). */
  netbiosDomain?: string;
  /** Source device; null for none. */
  device?: { hostName: string; ipAddress?: string; dnsDomain?: string } | null;
  createdDateTime?: string | Date;
  lastUpdateDateTime?: string | Date;
  /** Appended to evidence, e.g. unknownEvidence(). */
  extraEvidence?: Array<Record<string, unknown>>;
  /** Null out the optional fields real alerts sometimes lack (description, incident, SIDs, ...). */
  nulls?: boolean;
  /** Last word: shallow-merged into the alert. */
  overrides?: Record<string, unknown>;
}

function iso(value: string | Date | undefined, fallback: Date): string {
  if (value === undefined) return fallback.toISOString();
  return typeof value === 'string' ? value : value.toISOString();
}

function isTenantUser(value: TenantUser | AccountInput): value is TenantUser {
  return 'onPremisesSyncEnabled' in value && 'id' in value;
}

function userAccountOf(input: TenantUser | AccountInput, netbios: string, nulls: boolean): { account: Record<string, unknown>; roles: string[] } {
  if (isTenantUser(input)) {
    return {
      roles: ['compromised'],
      account: {
        // MDI sees the on-premises identity; a cloud-only user still gets a name from its UPN.
        accountName: input.onPremisesSamAccountName ?? input.userPrincipalName.split('@')[0],
        domainName: nulls ? null : input.onPremisesSyncEnabled ? netbios : null,
        userSid: nulls ? null : input.onPremisesSecurityIdentifier,
        azureAdUserId: nulls ? null : input.id,
        userPrincipalName: input.userPrincipalName,
        displayName: input.displayName,
        activeDirectoryObjectGuid: nulls ? null : input.onPremisesObjectGuid,
      },
    };
  }
  const { roles, ...account } = input;
  return { roles: roles ?? ['compromised'], account: { accountName: null, domainName: null, userSid: null, azureAdUserId: null, userPrincipalName: null, displayName: null, activeDirectoryObjectGuid: null, ...account } };
}

function evidenceBase(created: string, roles: string[]): Record<string, unknown> {
  return { createdDateTime: created, verdict: 'suspicious', remediationStatus: 'none', remediationStatusDetails: null, roles, detailedRoles: [], tags: [] };
}

/** Evidence of a type our code has never heard of (Graph adds types over time). */
export function unknownEvidence(odataType = '#microsoft.graph.security.kubernetesSecretEvidence'): Record<string, unknown> {
  return { '@odata.type': odataType, createdDateTime: new Date().toISOString(), verdict: 'unknownFutureValue', remediationStatus: 'none', roles: ['contextual'], detailedRoles: [], tags: [], name: 'mystery', secretType: 'opaque' };
}

const DEFAULT_ACCOUNT: AccountInput = {
  accountName: 'jdoe',
  domainName: 'CORP',
  userSid: 'S-1-5-21-3623811015-3361044348-30300820-1142',
  azureAdUserId: null,
  userPrincipalName: 'jdoe@corp.example.test',
  displayName: 'John Doe',
  activeDirectoryObjectGuid: '5b0f4c2e-8d6a-4f7b-9e21-3a4c5d6e7f80',
  roles: ['compromised'],
};

let sequence = 0;

export function mdiAlert(options: MdiAlertOptions = {}): GraphAlert {
  const kind = options.kind ?? 'bruteForce';
  const spec = KINDS[kind];
  const nulls = options.nulls ?? false;
  const netbios = options.netbiosDomain ?? 'CORP';
  const tenantId = options.tenantId ?? '7d1c0b7e-2f7a-4b55-9b61-0c7e3e2a9f10';
  const id = options.id ?? `da${randomBytes(15).toString('hex')}`;
  const created = iso(options.createdDateTime, new Date());
  const lastUpdated = iso(options.lastUpdateDateTime, new Date(Date.parse(created)));
  const firstActivity = new Date(Date.parse(created) - 12 * 60_000).toISOString();
  const lastActivity = new Date(Date.parse(created) - 4 * 60_000).toISOString();
  const incidentId = options.incidentId === undefined ? String(4700 + ++sequence) : options.incidentId;
  const device = options.device === undefined ? { hostName: `WS-${String(40 + (sequence % 60)).padStart(4, '0')}`, ipAddress: `10.1.2.${40 + (sequence % 200)}` } : options.device;
  const accounts = (options.accounts ?? [DEFAULT_ACCOUNT]).map((a) => userAccountOf(a, netbios, nulls));

  const evidence: Array<Record<string, unknown>> = [];
  for (const { account, roles } of accounts) {
    evidence.push({ '@odata.type': '#microsoft.graph.security.userEvidence', ...evidenceBase(created, roles), userAccount: account });
  }
  if (device) {
    const dnsDomain = device.dnsDomain ?? 'corp.example.test';
    evidence.push({
      '@odata.type': '#microsoft.graph.security.deviceEvidence',
      ...evidenceBase(created, ['source']),
      deviceDnsName: `${device.hostName.toLowerCase()}.${dnsDomain}`,
      hostName: device.hostName,
      ntDomain: netbios,
      dnsDomain,
      azureAdDeviceId: null,
      ipInterfaces: device.ipAddress ? [device.ipAddress] : [],
    });
    if (device.ipAddress) evidence.push({ '@odata.type': '#microsoft.graph.security.ipEvidence', ...evidenceBase(created, ['source']), ipAddress: device.ipAddress });
  }
  if (kind === 'dcsync') {
    evidence.push({ '@odata.type': '#microsoft.graph.security.deviceEvidence', ...evidenceBase(created, ['destination']), deviceDnsName: 'dc1.corp.example.test', hostName: 'DC1', ntDomain: netbios, dnsDomain: 'corp.example.test', azureAdDeviceId: null, ipInterfaces: ['10.1.0.10'] });
  }
  evidence.push(...(options.extraEvidence ?? []));

  const first = accounts[0]?.account;
  const who = accounts.length === 0 ? 'An unknown account' : `${String(first?.displayName ?? first?.accountName ?? 'an account')} (${netbios}\\${String(first?.accountName ?? '?')})`;
  const alert: GraphAlert = {
    '@odata.type': '#microsoft.graph.security.alert',
    id,
    providerAlertId: options.providerAlertId ?? randomUUID(),
    incidentId,
    status: options.status ?? 'new',
    severity: options.severity ?? spec.severity,
    classification: options.classification ?? null,
    determination: options.determination ?? null,
    serviceSource: 'microsoftDefenderForIdentity',
    detectionSource: 'microsoftDefenderForIdentity',
    productName: 'Microsoft Defender for Identity',
    detectorId: spec.detectorId,
    tenantId,
    title: options.title ?? spec.title,
    description: nulls ? null : spec.describe(who, device?.hostName ?? 'an unknown device'),
    recommendedActions: nulls ? null : spec.recommendedActions,
    category: spec.category,
    assignedTo: null,
    alertWebUrl: `https://security.microsoft.com/alerts/${id}?tid=${tenantId}`,
    incidentWebUrl: nulls || incidentId === null ? null : `https://security.microsoft.com/incidents/${incidentId}?tid=${tenantId}`,
    actorDisplayName: null,
    threatDisplayName: null,
    threatFamilyName: null,
    mitreTechniques: nulls ? [] : [...spec.mitreTechniques],
    createdDateTime: created,
    lastUpdateDateTime: lastUpdated,
    resolvedDateTime: null,
    firstActivityDateTime: nulls ? null : firstActivity,
    lastActivityDateTime: nulls ? null : lastActivity,
    comments: [],
    systemTags: [],
    additionalData: {},
    evidence,
  };
  return { ...alert, ...(options.overrides ?? {}) } as GraphAlert;
}

/** n alerts a minute apart (oldest first) starting at `start`, cycling through the kinds. */
export function mdiAlertSeries(count: number, start: Date, options: Omit<MdiAlertOptions, 'createdDateTime' | 'lastUpdateDateTime' | 'id'> = {}): GraphAlert[] {
  const alerts: GraphAlert[] = [];
  for (let i = 0; i < count; i++) {
    const at = new Date(start.getTime() + i * 60_000);
    alerts.push(mdiAlert({ kind: MDI_ALERT_KINDS[i % MDI_ALERT_KINDS.length], ...options, createdDateTime: at, lastUpdateDateTime: at }));
  }
  return alerts;
}
