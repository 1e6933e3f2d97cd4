/** The alert webhook's section of the configuration (POST /api/alerts/notify). */
import type { Secret } from '../observability/logger.ts';
import { GUID, type Reader } from './env-reader.ts';

export interface AlertPushConfig {
  /** Entra ID callers: tokens for one of `audiences`, from `tenantId`, by one of `callerIds`. */
  entra?: { audiences: string[]; callerIds: string[]; tenantId: string; authorityHost: string };
  /** Signed pushes: HMAC-SHA256 with a shared secret, timestamps within `windowSeconds`. */
  hmac?: { secret: Secret; windowSeconds: number };
}

const MIN_SECRET_CHARS = 32;

/** Undefined when no ALERT_PUSH_ key is set: the route then does not exist. */
export function readAlertPush(
  r: Reader,
  problems: string[],
  context: { tenantId: string | undefined; authorityHost: string; alertSources: readonly string[] },
): AlertPushConfig | undefined {
  const audiences = r.list('ALERT_PUSH_AUDIENCE', []);
  const callerIds = r.guidList('ALERT_PUSH_CALLER_IDS');
  const tenantId = r.guid('ALERT_PUSH_TENANT_ID') ?? context.tenantId;
  const secret = r.secret('ALERT_PUSH_HMAC_SECRET');
  const windowSeconds = r.int('ALERT_PUSH_HMAC_WINDOW_SECONDS', 300, 30, 3600);
  if (audiences.length === 0 && callerIds.length === 0 && !secret) return undefined;

  let entra: AlertPushConfig['entra'];
  if (audiences.length > 0 || callerIds.length > 0) {
    if (audiences.length === 0) problems.push('ALERT_PUSH_AUDIENCE: required with ALERT_PUSH_CALLER_IDS (the app ID URI, e.g. api://incident-bot-alerts, or the client id the callers get tokens for)');
    if (callerIds.length === 0) problems.push('ALERT_PUSH_CALLER_IDS: required with ALERT_PUSH_AUDIENCE (the managed identities / app ids allowed to push); an empty list would let any app of the tenant push');
    const bad = audiences.find((a) => !GUID.test(a) && !/^(api|https):\/\/[^\s,]+$/i.test(a));
    if (bad) problems.push(`ALERT_PUSH_AUDIENCE: each entry must be an app ID URI (api://… or https://…) or a client id (GUID), got "${bad}"`);
    if (!tenantId) problems.push('ALERT_PUSH_TENANT_ID: required for Entra ID callers when neither TEAMS_TENANT_ID, MicrosoftAppTenantId nor AZURE_TENANT_ID is set');
    entra = { audiences, callerIds, tenantId: tenantId ?? '', authorityHost: context.authorityHost };
  }
  let hmac: AlertPushConfig['hmac'];
  if (secret) {
    if (secret.reveal().length < MIN_SECRET_CHARS) problems.push(`ALERT_PUSH_HMAC_SECRET: must be at least ${MIN_SECRET_CHARS} characters (value not shown); e.g. openssl rand -base64 48`);
    hmac = { secret, windowSeconds };
  }
  if (context.alertSources.length === 0) problems.push('ALERT_PUSH_*: a pushed alert is read from its source: set ALERT_SOURCES to graph and/or sentinel');
  return { ...(entra ? { entra } : {}), ...(hmac ? { hmac } : {}) };
}
