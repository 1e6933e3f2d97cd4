import { Secret } from '../observability/logger.ts';
import { SEVERITIES, type Severity } from '../domain/alert.ts';
import type { AzureCredentialSettings } from '../adapters/azure/azure-credential.ts';
import { labModeRefusal } from './lab-mode.ts';
import { readBotFramework } from './bot-framework-section.ts';
import { reader, stripSlash, type Env } from './env-reader.ts';
import { readAzure, readLdap, readOkta } from './integration-sections.ts';
import { readExecutors, type ExecutorConfig } from './executor-section.ts';
import { readAlertPush, type AlertPushConfig } from './push-section.ts';
import { readOwnershipEscalation, type OwnershipEscalationConfig } from './escalation-section.ts';

export type { Env } from './env-reader.ts';

export type AlertSourceKind = 'graph' | 'sentinel';
export type BotAppType = 'SingleTenant' | 'MultiTenant' | 'UserAssignedMSI';
export type TempPasswordDelivery = 'private' | 'none';

/** The Entra ID application the bot signs in as: the settings of the Azure credential adapter. */
export type AzureConfig = AzureCredentialSettings;

export interface Config extends OwnershipEscalationConfig {
  port: number;
  host: string;
  botAuth: 'on' | 'off';
  /**
   * BOT_AUTH=off only: the secret every request must carry in the lab secret header
   * (BOT_LAB_SECRET, else generated per run by the composition root and printed at start).
   */
  labSecret?: Secret;
  bot: {
    appId: string;
    appPassword?: Secret;
    appType: BotAppType;
    tenantId?: string;
    /** Bot Framework endpoint overrides passed through to botbuilder as they are. */
    frameworkOverrides: Record<string, string>;
  };
  azure?: AzureConfig;
  graphEndpoint: string;
  logsEndpoint: string;
  alertSources: AlertSourceKind[];
  sentinel?: { workspaceId: string; alertFilter?: string; overlapSeconds: number };
  /** POST /api/alerts/notify (push ingestion); undefined: no such route. */
  alertPush?: AlertPushConfig;
  ldap?: { url: string; bindDn: string; bindPassword: Secret; baseDn: string; caFile?: string; timeoutMs: number; netbiosDomain: string };
  /** Okta: an OAuth 2.0 service app (recommended) or, as a fallback, an API token. */
  okta?: { orgUrl: string; oauth?: { clientId: string; privateKeyPath: string; keyId?: string }; apiToken?: Secret; forgetDevices: boolean };
  /** Who carries out each system's actions: the direct adapter, Defender for Identity, or auto. */
  executors: ExecutorConfig;
  databaseUrl: Secret;
  approvers: { groupIds: string[]; userIds: string[] };
  /** Who may use the read commands besides the approvers (who always may); both empty: approvers only. */
  readers: { groupIds: string[]; userIds: string[] };
  /** lookup/whois, history and status per person per minute (in memory, per instance). */
  lookupRatePerMinute: number;
  pollIntervalSeconds: number;
  minSeverity: Severity;
  teamsChannel?: { channelId: string; serviceUrl: string; tenantId?: string };
  /**
   * The organisation's tenant: the only one whose Teams turns the bot serves. TEAMS_TENANT_ID,
   * else MicrosoftAppTenantId, else AZURE_TENANT_ID (the tenant whose approvers Graph checks).
   * Required with BOT_AUTH=on; unset with BOT_AUTH=off means any tenant (local runs).
   */
  teamsTenantId?: string;
  threadWindowMinutes: number;
  approvalTtlMinutes: number;
  /** Seconds a running action's store lease lives without renewal; a lapsed lease = a dead process. */
  approvalRunLeaseSeconds: number;
  maxActionsPerHour: number;
  dryRun: boolean;
  protectedAccounts: string[];
  /** Approvals needed on protected/privileged accounts, or 'refuse'. */
  protectedAccountApprovals: number | 'refuse';
  serviceAccounts: string[];
  /** Entra groups whose (transitive) members count as privileged, whatever system an action runs in. */
  entraPrivilegedGroupIds?: string[];
  /** Entra directory role template ids counted as privileged; undefined = the built-in default list. */
  entraPrivilegedRoleIds?: string[];
  actionPolicyFile?: string;
  cardFooter?: string;
  tempPasswordDelivery: TempPasswordDelivery;
  /** DEFENDER_WRITEBACK: decisions, results and closes written back to the Defender alert (and its incident). */
  defenderWriteback: { enabled: boolean; retrySeconds: number };
  outboundTimeoutMs: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
}

/** Thrown when the environment does not describe a runnable bot; one problem per line. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Builds the one configuration object from the environment. Pure: same input, same output,
 * no I/O. Collects every problem before failing, so an operator fixes them in one go.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const r = reader(env, problems);

  const botAuth = r.oneOf('BOT_AUTH', ['on', 'off'] as const, 'on');
  const bot = readBotFramework(r, problems, botAuth);
  const { appId, tenantId: botTenantId } = bot;

  const labSecret = r.secret('BOT_LAB_SECRET');
  if (labSecret && botAuth === 'on') problems.push('BOT_LAB_SECRET: only used with BOT_AUTH=off; remove it');
  if (labSecret && labSecret.reveal().length < 24) problems.push('BOT_LAB_SECRET: must be at least 24 characters (value not shown)');

  const port = r.int('PORT', 3978, 0, 65535);
  const requestedHost = r.text('HOST') ?? '0.0.0.0';
  const host = botAuth === 'off' ? '127.0.0.1' : requestedHost;

  const alertSources = r.list('ALERT_SOURCES', ['graph']).filter((s) => s !== 'none');
  for (const source of alertSources) {
    if (source !== 'graph' && source !== 'sentinel') problems.push(`ALERT_SOURCES: unknown source "${source}"; use graph, sentinel or none`);
  }
  const sources = alertSources.filter((s): s is AlertSourceKind => s === 'graph' || s === 'sentinel');

  const azure = readAzure(r, problems, sources.length > 0);
  const workspaceId = r.guid('SENTINEL_WORKSPACE_ID');
  if (sources.includes('sentinel') && !workspaceId) problems.push('SENTINEL_WORKSPACE_ID: required when ALERT_SOURCES includes sentinel');
  const sentinelFilter = r.text('SENTINEL_ALERT_FILTER');

  const ldap = readLdap(r, problems);
  const okta = readOkta(r, problems);
  const executors = readExecutors(r, problems, azure !== undefined);

  const databaseUrl = r.text('DATABASE_URL') ?? 'sqlite:./data/incident-bot.db';
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(databaseUrl)) {
    problems.push('DATABASE_URL: must start with sqlite: or postgres:// (value not shown: it may hold a password)');
  }

  const approverGroups = r.guidList('APPROVER_GROUP_IDS');
  const approverUsers = r.guidList('APPROVER_USER_IDS');
  const entraPrivilegedGroups = r.guidList('ENTRA_PRIVILEGED_GROUP_IDS');
  const readerGroups = r.guidList('READER_GROUP_IDS');
  const readerUsers = r.guidList('READER_USER_IDS');
  // Privileged groups need Graph: without it they would be silently ignored.
  if (entraPrivilegedGroups.length > 0 && !azure) problems.push('ENTRA_PRIVILEGED_GROUP_IDS: needs the Azure app registration (AZURE_TENANT_ID, AZURE_CLIENT_ID and a credential) to check membership');
  const entraPrivilegedRoles = r.text('ENTRA_PRIVILEGED_ROLE_IDS')?.trim().toLowerCase() === 'none' ? [] : r.guidList('ENTRA_PRIVILEGED_ROLE_IDS');

  const channelId = r.text('TEAMS_CHANNEL_ID');
  const serviceUrl = r.url('TEAMS_SERVICE_URL');
  const teamsTenant = r.guid('TEAMS_TENANT_ID') ?? botTenantId;
  if (channelId && !serviceUrl) problems.push('TEAMS_SERVICE_URL: required when TEAMS_CHANNEL_ID is set');
  if (serviceUrl && !channelId) problems.push('TEAMS_CHANNEL_ID: required when TEAMS_SERVICE_URL is set');
  const organisationTenant = teamsTenant ?? (azure?.tenantId || undefined);
  if (botAuth === 'on' && appId && !organisationTenant) {
    problems.push('TEAMS_TENANT_ID: required with BOT_AUTH=on when neither MicrosoftAppTenantId nor AZURE_TENANT_ID is set (the tenant whose Teams may use the bot)');
  }

  const alertPush = readAlertPush(r, problems, {
    tenantId: organisationTenant,
    authorityHost: azure?.authorityHost ?? stripSlash(r.url('AZURE_AUTHORITY_HOST') ?? 'https://login.microsoftonline.com'),
    alertSources: sources,
  });

  const ownership = readOwnershipEscalation(r, problems);
  const graphEndpoint = stripSlash(r.url('GRAPH_ENDPOINT') ?? 'https://graph.microsoft.com');
  const logsEndpoint = stripSlash(r.url('LOGS_ENDPOINT') ?? 'https://api.loganalytics.io/v1');
  const dryRun = r.bool('DRY_RUN', false);
  if (botAuth === 'off' && !dryRun) {
    // The lab mode has no authentication: it may act only on what is on this machine.
    const refusal = labModeRefusal({
      endpoints: [
        ['LDAP_URL', ldap?.url],
        ['OKTA_ORG_URL', okta?.orgUrl],
        ['GRAPH_ENDPOINT', azure ? graphEndpoint : undefined],
        ['LOGS_ENDPOINT', azure && workspaceId ? logsEndpoint : undefined],
        ['AZURE_AUTHORITY_HOST', azure && !azure.managedIdentity ? azure.authorityHost : undefined],
        ['TEAMS_SERVICE_URL', serviceUrl],
        ['PAGERDUTY_EVENTS_URL', ownership.pagerDuty?.eventsUrl],
        ['OPSGENIE_API_URL', ownership.opsgenie?.apiUrl],
      ],
      managedIdentity: Boolean(azure?.managedIdentity),
    });
    if (refusal) problems.push(refusal);
  }

  const writebackEnabled = r.oneOf('DEFENDER_WRITEBACK', ['off', 'on'] as const, 'off') === 'on';
  if (writebackEnabled && !azure) problems.push('DEFENDER_WRITEBACK: on needs the Azure app registration (AZURE_TENANT_ID, AZURE_CLIENT_ID and a credential) to write to Graph');

  const config: Config = {
    port,
    host,
    botAuth,
    labSecret: botAuth === 'off' ? labSecret : undefined,
    bot,
    azure,
    graphEndpoint,
    logsEndpoint,
    alertSources: sources,
    ...(alertPush ? { alertPush } : {}),
    sentinel: workspaceId ? { workspaceId, alertFilter: sentinelFilter, overlapSeconds: r.int('SENTINEL_OVERLAP_SECONDS', 300, 0, 86_400) } : undefined,
    ldap,
    okta,
    executors,
    databaseUrl: new Secret(databaseUrl),
    approvers: { groupIds: approverGroups, userIds: approverUsers },
    readers: { groupIds: readerGroups, userIds: readerUsers },
    lookupRatePerMinute: r.int('LOOKUP_RATE_PER_MINUTE', 10, 1, 10_000),
    pollIntervalSeconds: r.int('POLL_INTERVAL_SECONDS', 60, 5, 86_400),
    minSeverity: r.oneOf('MIN_SEVERITY', SEVERITIES.filter((s) => s !== 'unknown'), 'low'),
    teamsChannel: channelId && serviceUrl ? { channelId, serviceUrl, tenantId: teamsTenant } : undefined,
    teamsTenantId: organisationTenant,
    threadWindowMinutes: r.int('THREAD_WINDOW_MINUTES', 60, 0, 10_080),
    approvalTtlMinutes: r.int('APPROVAL_TTL_MINUTES', 240, 1, 43_200),
    approvalRunLeaseSeconds: r.int('APPROVAL_RUN_LEASE_SECONDS', 15, 2, 600),
    maxActionsPerHour: r.int('MAX_ACTIONS_PER_HOUR', 20, 1, 10_000),
    dryRun,
    protectedAccounts: r.list('PROTECTED_ACCOUNTS', []),
    protectedAccountApprovals: readProtectedApprovals(r.text('PROTECTED_ACCOUNT_APPROVALS'), problems),
    serviceAccounts: [...r.list('SERVICE_ACCOUNTS', []), ...(ldap ? [ldap.bindDn] : [])],
    entraPrivilegedGroupIds: entraPrivilegedGroups,
    ...(r.text('ENTRA_PRIVILEGED_ROLE_IDS') === undefined ? {} : { entraPrivilegedRoleIds: entraPrivilegedRoles }),
    actionPolicyFile: r.text('ACTION_POLICY_FILE'),
    cardFooter: r.text('CARD_FOOTER'),
    tempPasswordDelivery: r.oneOf('TEMP_PASSWORD_DELIVERY', ['private', 'none'] as const, 'private'),
    defenderWriteback: { enabled: writebackEnabled, retrySeconds: r.int('DEFENDER_WRITEBACK_RETRY_SECONDS', 30, 1, 3_600) },
    outboundTimeoutMs: r.int('OUTBOUND_TIMEOUT_MS', 15_000, 100, 300_000),
    logLevel: r.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error'] as const, 'info'),
    ...ownership,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function readProtectedApprovals(value: string | undefined, problems: string[]): number | 'refuse' {
  if (value === undefined) return 2;
  if (value.toLowerCase() === 'refuse') return 'refuse';
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 10) return Number(value);
  problems.push(`PROTECTED_ACCOUNT_APPROVALS: must be a number from 1 to 10 or "refuse", got "${value}"`);
  return 2;
}

