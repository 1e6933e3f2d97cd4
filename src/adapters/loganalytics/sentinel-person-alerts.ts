import type { TokenCredential } from '../azure/azure-credential.ts';
import type { SentinelAlertLookup, SentinelPerson, SentinelPersonAlerts } from '../../domain/ports/sentinel-alert-lookup.ts';
import { sameAccount } from '../../domain/account-key.ts';
import type { Alert, AlertAccount } from '../../domain/alert.ts';
import { isAppError } from '../../domain/errors.ts';
import type { Logger } from '../../domain/logger.ts';
import { createLogsClient, rowsAsObjects, runLogsQuery } from './logs-client.ts';
import { mapSecurityAlertRow } from './security-alert-mapper.ts';
import { buildPersonAlertQuery, validateKqlPredicate } from './sentinel-query.ts';

export interface CreateSentinelPersonAlertsOptions {
  credential: TokenCredential;
  /** Log Analytics query endpoint INCLUDING the version, e.g. https://api.loganalytics.io/v1. */
  endpoint: string;
  workspaceId: string;
  /** SENTINEL_ALERT_FILTER: a KQL predicate replacing the default MDI product filter. */
  filter?: string;
  logger: Logger;
  /** Upper bound of the HTTP call; also the server-side query timeout. A person waits for this. */
  timeoutMs: number;
  /** Retries by the SDK; default 0: someone is waiting for the card. */
  maxRetries?: number;
}

/** Rows asked per alert wanted: the `has` prefilter also returns alerts about other people. */
const ROWS_PER_ALERT = 4;
const MAX_ROWS = 200;

/**
 * Recent MDI alerts about one person from Sentinel's SecurityAlert table. The query searches
 * Entities for the person's identifiers (quoted, validated: see buildPersonAlertQuery); the rows
 * are mapped like the alert source's, and only alerts naming the person among their accounts
 * (same SID, Entra id, UPN or DOMAIN\sam) are kept.
 */
export function createSentinelPersonAlerts(options: CreateSentinelPersonAlertsOptions): SentinelAlertLookup {
  const filter = options.filter === undefined || options.filter.trim() === '' ? undefined : validateKqlPredicate(options.filter);
  const log = options.logger.child({ source: 'sentinel', use: 'lookup' });
  const client = createLogsClient({ credential: options.credential, endpoint: options.endpoint, maxRetries: options.maxRetries ?? 0 });

  async function recentAlertsFor(person: SentinelPerson, request: { days: number; limit: number; signal?: AbortSignal }): Promise<SentinelPersonAlerts> {
    const limit = Math.max(1, Math.min(Math.trunc(request.limit), 50));
    const rowLimit = Math.min(limit * ROWS_PER_ALERT, MAX_ROWS);
    const query = buildPersonAlertQuery({ person, days: request.days, rowLimit, ...(filter === undefined ? {} : { filter }) });
    if (query === undefined) return { alerts: [] };
    const { tables, partial } = await runLogsQuery(client, {
      workspaceId: options.workspaceId,
      query,
      timespan: { duration: `P${request.days}D` },
      timeoutMs: options.timeoutMs,
      ...(request.signal ? { signal: request.signal } : {}),
      what: 'the Sentinel lookup query',
      customFilter: filter !== undefined,
    });

    const wanted: AlertAccount = { ...person, roles: [] };
    const byKey = new Map<string, { alert: Alert; at: number }>();
    let rows = 0;
    let skipped = 0;
    for (const table of tables) {
      for (const row of rowsAsObjects(table)) {
        rows++;
        let alert: Alert;
        try {
          alert = mapSecurityAlertRow(row).alert;
        } catch (error) {
          if (!isAppError(error)) throw error;
          skipped++;
          continue;
        }
        if (!alert.accounts.some((account) => sameAccount(account, wanted))) continue;
        const at = timeOf(alert);
        // Two SystemAlertIds may carry the same provider alert (re-ingested): keep its newest row.
        const known = byKey.get(alert.key);
        if (!known || at > known.at) byKey.set(alert.key, { alert, at });
      }
    }
    const alerts = [...byKey.values()].sort((a, b) => b.at - a.at).slice(0, limit).map((entry) => entry.alert);
    log.debug({ rows, matched: byKey.size, skipped, partial: partial !== undefined }, 'read Sentinel alerts for a person');
    return { alerts, ...(partial ? { partial: 'Sentinel answered with part of the result only.' } : {}) };
  }

  return { recentAlertsFor };
}

function timeOf(alert: Alert): number {
  const value = alert.lastUpdatedAt ?? alert.createdAt ?? alert.lastActivity;
  const ms = value ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? 0 : ms;
}
