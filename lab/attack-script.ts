import { mdiAlert, type MdiAlertKind } from '../sim/graph/graph-alert-factory.ts';
import type { LogAnalyticsServer } from '../sim/loganalytics/log-analytics-server.ts';
import { makeMdiSecurityAlert, type MdiAccountSpec } from '../sim/loganalytics/security-alert-factory.ts';
import { putAlert, updateAlert, type GraphAlert, type Tenant, type TenantUser } from '../sim/tenant.ts';

/**
 * A scripted identity attack on Example Corp, raised the way MDI raises it: each detection
 * appears in Microsoft Graph (alerts_v2) and, as Sentinel's MDI connector does, as a
 * SecurityAlert row in the workspace carrying the same provider alert id (one alert, two
 * sources). The story: reconnaissance from a workstation, a brute force against one account,
 * then that account's hash used elsewhere, then a DCSync from it.
 */

export interface AttackStep {
  /** Delay from the start of the attack, in seconds (at pace 1). */
  at: number;
  kind: MdiAlertKind;
  who: 'recon' | 'victim';
  what: string;
}

export const ATTACK_PLAN: readonly AttackStep[] = [
  { at: 2, kind: 'ldapEnumeration', who: 'recon', what: 'LDAP reconnaissance from WS-0107' },
  { at: 30, kind: 'bruteForce', who: 'victim', what: 'brute force against one account' },
  { at: 60, kind: 'passTheHash', who: 'victim', what: 'pass-the-hash with that account' },
  { at: 100, kind: 'dcsync', who: 'victim', what: 'DCSync from that account' },
];

const ATTACKER_HOST = { hostName: 'WS-0107', ipAddress: '10.1.2.107', dnsDomain: 'corp.example.test' };

export interface RaisedAlert {
  step: AttackStep;
  alert: GraphAlert;
  at: Date;
}

export interface RunAttackOptions {
  tenant: Tenant;
  victim: TenantUser;
  reconUser: TenantUser;
  /** Also write each alert to the Sentinel workspace (same provider alert id). */
  logAnalytics?: LogAnalyticsServer;
  /** Time factor: 1 = the plan's seconds; 0.1 = ten times faster (tests). */
  pace?: number;
  plan?: readonly AttackStep[];
  onAlert?: (raised: RaisedAlert) => void;
}

export interface RunningAttack {
  /** When the attack started (ms since epoch). */
  startedAt: number;
  raised: RaisedAlert[];
  /** Resolves when every step was raised (or the attack was stopped). */
  done: Promise<void>;
  stop(): void;
}

function sentinelAccount(user: TenantUser): MdiAccountSpec {
  return {
    name: user.onPremisesSamAccountName ?? user.userPrincipalName.split('@')[0]!,
    ntDomain: 'CORP',
    upnSuffix: user.userPrincipalName.split('@')[1],
    sid: user.onPremisesSecurityIdentifier ?? undefined,
    aadUserId: user.id,
    objectGuid: user.onPremisesObjectGuid ?? undefined,
    displayName: user.displayName,
  };
}

const SENTINEL_NAMES: Record<MdiAlertKind, { alertType: string; tactics: string }> = {
  dcsync: { alertType: 'DirectoryServicesReplicationSecurityAlert', tactics: 'CredentialAccess' },
  bruteForce: { alertType: 'BruteForceSecurityAlert', tactics: 'CredentialAccess' },
  passTheHash: { alertType: 'PassTheHashSecurityAlert', tactics: 'LateralMovement' },
  passTheTicket: { alertType: 'PassTheTicketSecurityAlert', tactics: 'LateralMovement' },
  ldapEnumeration: { alertType: 'LdapSearchReconnaissanceSecurityAlert', tactics: 'Discovery' },
  goldenTicket: { alertType: 'GoldenTicketEncryptionDowngradeSecurityAlert', tactics: 'CredentialAccess' },
  honeytoken: { alertType: 'HoneytokenActivitySecurityAlert', tactics: 'CredentialAccess' },
};

export function raiseAlert(options: Pick<RunAttackOptions, 'tenant' | 'victim' | 'reconUser' | 'logAnalytics'>, step: AttackStep, now = new Date()): GraphAlert {
  const account = step.who === 'victim' ? options.victim : options.reconUser;
  const alert = putAlert(
    options.tenant,
    mdiAlert({ kind: step.kind, accounts: [account], device: ATTACKER_HOST, tenantId: options.tenant.tenantId, createdDateTime: now, lastUpdateDateTime: now }),
  );
  if (options.logAnalytics) {
    const names = SENTINEL_NAMES[step.kind];
    options.logAnalytics.addAlerts([
      makeMdiSecurityAlert({
        vendorOriginalId: String(alert.providerAlertId),
        alertName: String(alert.title),
        alertType: names.alertType,
        tactics: names.tactics,
        techniques: (alert.mitreTechniques as string[]).filter((t) => !t.includes('.')),
        severity: String(alert.severity).replace(/^./, (c) => c.toUpperCase()),
        description: String(alert.description ?? ''),
        timeGenerated: now,
        accounts: [sentinelAccount(account)],
        hosts: [{ hostName: ATTACKER_HOST.hostName, dnsDomain: ATTACKER_HOST.dnsDomain, ntDomain: 'CORP', osFamily: 'Windows' }],
        ips: [ATTACKER_HOST.ipAddress],
        tenantId: options.tenant.tenantId,
      }),
    ]);
  }
  return alert;
}

export function runAttack(options: RunAttackOptions): RunningAttack {
  const pace = options.pace ?? 1;
  const plan = options.plan ?? ATTACK_PLAN;
  const raised: RaisedAlert[] = [];
  const startedAt = Date.now();
  const timers: NodeJS.Timeout[] = [];
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  let left = plan.length;
  if (left === 0) finish();
  for (const step of plan) {
    timers.push(
      setTimeout(() => {
        const at = new Date();
        const alert = raiseAlert(options, step, at);
        const entry = { step, alert, at };
        raised.push(entry);
        options.onAlert?.(entry);
        if (--left === 0) finish();
      }, step.at * 1000 * pace),
    );
  }
  return {
    startedAt,
    raised,
    done,
    stop() {
      for (const timer of timers) clearTimeout(timer);
      finish();
    },
  };
}

/** A later change to a raised alert (e.g. Defender marks it in progress): the card should update. */
export function touchAlert(tenant: Tenant, alertId: string, changes: Record<string, unknown>): GraphAlert {
  return updateAlert(tenant, alertId, changes);
}
