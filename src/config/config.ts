import { Secret } from '../observability/logger.ts';
import { SEVERITIES, type Severity } from '../domain/alert.ts';
import { isLoopbackUrl } from '../shared/loopback.ts';
import { labModeRefusal } from './lab-mode.ts';

export type AlertSourceKind = 'graph' | 'sentinel';
export type BotAppType = 'SingleTenant' | 'MultiTenant' | 'UserAssignedMSI';
export type TempPasswordDelivery = 'private' | 'none';

export interface AzureConfig {
  tenantId: string;
  clientId: string;
  clientSecret?: Secret;
  certificatePath?: string;
  managedIdentity: boolean;
  authorityHost: string;
}

export interface Config {
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
  ldap?: { url: string; bindDn: string; bindPassword: Secret; baseDn: string; caFile?: string; timeoutMs: number; netbiosDomain: string };
  /** Okta: an OAuth 2.0 service app (recommended) or, as a fallback, an API token. */
  okta?: { orgUrl: string; oauth?: { clientId: string; privateKeyPath: string; keyId?: string }; apiToken?: Secret; forgetDevices: boolean };
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

export type Env = Readonly<Record<string, string | undefined>>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BOT_FRAMEWORK_OVERRIDES = [
  'BotOpenIdMetadata',
  'ToBotFromChannelOpenIdMetadataUrl',
  'ToBotFromChannelTokenIssuer',
  'ToChannelFromBotLoginUrl',
  'ToChannelFromBotOAuthScope',
  'ToBotFromEmulatorOpenIdMetadataUrl',
  'OAuthUrl',
  'ChannelService',
  'ValidateAuthority',
] as const;
const BOT_FRAMEWORK_ENDPOINTS: ReadonlySet<string> = new Set(['BotOpenIdMetadata', 'ToBotFromChannelOpenIdMetadataUrl', 'ToChannelFromBotLoginUrl', 'ToBotFromEmulatorOpenIdMetadataUrl', 'OAuthUrl']);

/**
 * Builds the one configuration object from the environment. Pure: same input, same output,
 * no I/O. Collects every problem before failing, so an operator fixes them in one go.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const r = reader(env, problems);

  const botAuth = r.oneOf('BOT_AUTH', ['on', 'off'] as const, 'on');
  const appId = r.text('MicrosoftAppId') ?? '';
  const appType = r.oneOf('MicrosoftAppType', ['SingleTenant', 'MultiTenant', 'UserAssignedMSI'] as const, 'SingleTenant');
  const appPassword = r.secret('MicrosoftAppPassword');
  const botTenantId = r.guid('MicrosoftAppTenantId');
  if (botAuth === 'on') {
    if (!appId) problems.push('MicrosoftAppId: required (the bot app registration id); set BOT_AUTH=off only for local runs without authentication');
    else if (!GUID.test(appId)) problems.push('MicrosoftAppId: must be a GUID such as 00000000-0000-0000-0000-000000000000');
    if (appId && appType !== 'UserAssignedMSI' && !appPassword) problems.push(`MicrosoftAppPassword: required with MicrosoftAppType=${appType}`);
    if (appId && appType !== 'MultiTenant' && !botTenantId) problems.push(`MicrosoftAppTenantId: required with MicrosoftAppType=${appType}`);
  }
  const frameworkOverrides: Record<string, string> = {};
  for (const key of BOT_FRAMEWORK_OVERRIDES) {
    // The endpoints botbuilder calls are https-only like every other outbound URL.
    const value = BOT_FRAMEWORK_ENDPOINTS.has(key) ? r.url(key) : r.text(key);
    if (value !== undefined) frameworkOverrides[key] = value;
  }
  if (frameworkOverrides.BotOpenIdMetadata && !frameworkOverrides.ToBotFromChannelTokenIssuer) {
    problems.push('ToBotFromChannelTokenIssuer: required when BotOpenIdMetadata is set (botbuilder has no default then), usually https://api.botframework.com');
  }

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
      ],
      managedIdentity: Boolean(azure?.managedIdentity),
    });
    if (refusal) problems.push(refusal);
  }

  const config: Config = {
    port,
    host,
    botAuth,
    labSecret: botAuth === 'off' ? labSecret : undefined,
    bot: { appId, appPassword, appType, tenantId: botTenantId, frameworkOverrides },
    azure,
    graphEndpoint,
    logsEndpoint,
    alertSources: sources,
    sentinel: workspaceId ? { workspaceId, alertFilter: sentinelFilter, overlapSeconds: r.int('SENTINEL_OVERLAP_SECONDS', 300, 0, 86_400) } : undefined,
    ldap,
    okta,
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
    outboundTimeoutMs: r.int('OUTBOUND_TIMEOUT_MS', 15_000, 100, 300_000),
    logLevel: r.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error'] as const, 'info'),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function readAzure(r: Reader, problems: string[], needed: boolean): AzureConfig | undefined {
  const tenantId = r.guid('AZURE_TENANT_ID');
  const clientId = r.guid('AZURE_CLIENT_ID');
  const clientSecret = r.secret('AZURE_CLIENT_SECRET');
  const certificatePath = r.text('AZURE_CLIENT_CERTIFICATE_PATH');
  const managedIdentity = r.bool('AZURE_MANAGED_IDENTITY', false);
  const authorityHost = stripSlash(r.url('AZURE_AUTHORITY_HOST') ?? 'https://login.microsoftonline.com');
  const anySet = Boolean(tenantId || clientId || clientSecret || certificatePath || managedIdentity);
  if (!needed && !anySet) return undefined;
  if (!managedIdentity) {
    if (!tenantId) problems.push('AZURE_TENANT_ID: required to read alerts from Graph or Sentinel (or set ALERT_SOURCES=none)');
    if (!clientId) problems.push('AZURE_CLIENT_ID: required to read alerts from Graph or Sentinel (or set ALERT_SOURCES=none)');
    if (!clientSecret && !certificatePath) problems.push('AZURE_CLIENT_SECRET: required unless AZURE_CLIENT_CERTIFICATE_PATH or AZURE_MANAGED_IDENTITY=true is set');
  }
  return { tenantId: tenantId ?? '', clientId: clientId ?? '', clientSecret, certificatePath, managedIdentity, authorityHost };
}

function readLdap(r: Reader, problems: string[]): Config['ldap'] {
  const url = r.text('LDAP_URL');
  const bindDn = r.text('LDAP_BIND_DN');
  const bindPassword = r.secret('LDAP_BIND_PASSWORD');
  const baseDn = r.text('LDAP_BASE_DN');
  const caFile = r.text('LDAP_CA_FILE');
  const timeoutMs = r.int('LDAP_TIMEOUT_MS', 10_000, 100, 300_000);
  const netbios = r.text('LDAP_NETBIOS_DOMAIN');
  if (netbios !== undefined && !/^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/.test(netbios)) problems.push(`LDAP_NETBIOS_DOMAIN: must be a NetBIOS name of 1 to 15 letters, digits or dashes, got "${netbios}"`);
  if (!url) {
    if (bindDn || bindPassword || baseDn) problems.push('LDAP_URL: required when other LDAP_ keys are set');
    return undefined;
  }
  if (!/^ldaps?:\/\/[^/\s]+/.test(url)) problems.push('LDAP_URL: must look like ldaps://dc.example.com:636 or ldap://dc.example.com:389');
  if (!bindDn) problems.push('LDAP_BIND_DN: required when LDAP_URL is set');
  if (!bindPassword) problems.push('LDAP_BIND_PASSWORD: required when LDAP_URL is set');
  if (!baseDn) problems.push('LDAP_BASE_DN: required when LDAP_URL is set');
  if (!bindDn || !bindPassword || !baseDn) return undefined;
  const netbiosDomain = (netbios ?? /DC=([^,]+)/i.exec(baseDn)?.[1] ?? '').toUpperCase();
  return { url, bindDn, bindPassword, baseDn, caFile, timeoutMs, netbiosDomain };
}

function readOkta(r: Reader, problems: string[]): Config['okta'] {
  const orgUrl = r.url('OKTA_ORG_URL');
  const apiToken = r.secret('OKTA_API_TOKEN');
  const clientId = r.text('OKTA_CLIENT_ID');
  const privateKeyPath = r.text('OKTA_PRIVATE_KEY_PATH');
  const keyId = r.text('OKTA_KEY_ID');
  const forgetDevices = r.bool('OKTA_FORGET_DEVICES', false);
  if (clientId && !privateKeyPath) problems.push('OKTA_PRIVATE_KEY_PATH: required when OKTA_CLIENT_ID is set (the service app signs its token requests with it)');
  if (privateKeyPath && !clientId) problems.push('OKTA_CLIENT_ID: required when OKTA_PRIVATE_KEY_PATH is set');
  const oauth = clientId && privateKeyPath ? { clientId, privateKeyPath, ...(keyId ? { keyId } : {}) } : undefined;
  if (orgUrl && !oauth && !apiToken && !clientId && !privateKeyPath) problems.push('OKTA_CLIENT_ID: required when OKTA_ORG_URL is set (with OKTA_PRIVATE_KEY_PATH; or, as a fallback, OKTA_API_TOKEN)');
  if ((oauth || apiToken) && !orgUrl) problems.push(`OKTA_ORG_URL: required when ${oauth ? 'OKTA_CLIENT_ID' : 'OKTA_API_TOKEN'} is set`);
  if (!orgUrl || (!oauth && !apiToken)) return undefined;
  // The service app wins when both are set: the API token stays unused.
  return { orgUrl: stripSlash(orgUrl), ...(oauth ? { oauth } : { apiToken }), forgetDevices };
}

function readProtectedApprovals(value: string | undefined, problems: string[]): number | 'refuse' {
  if (value === undefined) return 2;
  if (value.toLowerCase() === 'refuse') return 'refuse';
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 10) return Number(value);
  problems.push(`PROTECTED_ACCOUNT_APPROVALS: must be a number from 1 to 10 or "refuse", got "${value}"`);
  return 2;
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

type Reader = ReturnType<typeof reader>;

/** Typed accessors that record a one-line problem instead of throwing. */
function reader(env: Env, problems: string[]) {
  const raw = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  return {
    text: raw,
    secret(name: string): Secret | undefined {
      const value = raw(name);
      return value === undefined ? undefined : new Secret(value);
    },
    int(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
        problems.push(`${name}: must be a whole number from ${min} to ${max}, got "${value}"`);
        return fallback;
      }
      return Number(value);
    },
    bool(name: string, fallback: boolean): boolean {
      const value = raw(name)?.toLowerCase();
      if (value === undefined) return fallback;
      if (value === 'true' || value === '1' || value === 'yes') return true;
      if (value === 'false' || value === '0' || value === 'no') return false;
      problems.push(`${name}: must be true or false, got "${value}"`);
      return fallback;
    },
    oneOf<const T extends string>(name: string, allowed: readonly T[], fallback: T): T {
      const value = raw(name);
      if (value === undefined) return fallback;
      const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
      if (!match) {
        problems.push(`${name}: must be one of ${allowed.join(', ')}, got "${value}"`);
        return fallback;
      }
      return match;
    },
    url(name: string): string | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      try {
        const parsed = new URL(value);
        if (parsed.protocol === 'https:') return value;
        // Plain http only on this machine (tests, the lab): elsewhere tokens and answers would
        // cross the network in clear text.
        if (parsed.protocol === 'http:' && isLoopbackUrl(value)) return value;
        if (parsed.protocol === 'http:') {
          problems.push(`${name}: must be an https:// URL (http:// is accepted only for loopback addresses), got "${value}"`);
          return undefined;
        }
        throw new Error('scheme');
      } catch {
        problems.push(`${name}: must be an https:// URL, got "${value}"`);
        return undefined;
      }
    },
    guid(name: string): string | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      if (!GUID.test(value)) {
        problems.push(`${name}: must be a GUID such as 00000000-0000-0000-0000-000000000000, got "${value}"`);
        return undefined;
      }
      return value.toLowerCase();
    },
    guidList(name: string): string[] {
      const values = (raw(name) ?? '').split(',').map((v) => v.trim()).filter(Boolean);
      const bad = values.filter((v) => !GUID.test(v));
      if (bad.length > 0) problems.push(`${name}: each entry must be an object id (GUID); not one: "${bad[0]}"`);
      return values.filter((v) => GUID.test(v)).map((v) => v.toLowerCase());
    },
    list(name: string, fallback: string[]): string[] {
      const value = raw(name);
      if (value === undefined) return fallback;
      return value.split(',').map((v) => v.trim()).filter(Boolean);
    },
  };
}
