/**
 * Sentinel (Log Analytics): the alert source and the lookup's recent alerts. Loaded (dynamic
 * import) only when a workspace is configured: @azure/monitor-query-logs stays unloaded otherwise.
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { AlertSource } from '../domain/ports/alert-source.ts';
import type { SentinelAlertLookup } from '../domain/ports/sentinel-alert-lookup.ts';
import type { TokenCredential } from '../adapters/azure/azure-credential.ts';
import { createSentinelAlertSource } from '../adapters/loganalytics/sentinel-alert-source.ts';
import { createSentinelPersonAlerts } from '../adapters/loganalytics/sentinel-person-alerts.ts';

export function buildSentinelIntegration(config: Config & { sentinel: NonNullable<Config['sentinel']> }, credential: TokenCredential, logger: Logger, lookupTimeoutMs: number): { source?: AlertSource; lookup: SentinelAlertLookup } {
  const { workspaceId, alertFilter, overlapSeconds } = config.sentinel;
  const endpoint = config.logsEndpoint;
  return {
    ...(config.alertSources.includes('sentinel')
      ? { source: createSentinelAlertSource({ credential, endpoint, workspaceId, filter: alertFilter, overlapSeconds, logger, timeoutMs: config.outboundTimeoutMs }) }
      : {}),
    // The lookup reads Sentinel whenever a workspace is configured, also when Graph is the alert
    // source: the workspace may hold MDI alerts from before the bot polled, or from another connector.
    lookup: createSentinelPersonAlerts({ credential, endpoint, workspaceId, filter: alertFilter, logger, timeoutMs: lookupTimeoutMs, maxRetries: 0 }),
  };
}
