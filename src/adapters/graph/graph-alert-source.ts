import type { Client } from '@microsoft/microsoft-graph-client';
import type { Alert } from '../../domain/alert.ts';
import type { AlertBatch, AlertLookup, AlertSource, AlertSourceProblem } from '../../domain/ports/alert-source.ts';
import { AppError, isAppError } from '../../domain/errors.ts';
import type { Logger } from '../../domain/logger.ts';
import { mapGraphAlert } from './graph-alert-mapper.ts';
import { graphErrorToAppError } from './graph-client.ts';

export interface CreateGraphAlertSourceOptions {
  client: Client;
  logger: Logger;
  /** Re-read this many seconds before the watermark: Graph updates land out of order. Default 120. */
  overlapSeconds?: number;
  /** $top per page (1..1000 on alerts_v2). Default 50. */
  pageSize?: number;
  /** Pages followed per call before giving up with a partial batch. Default 100. */
  maxPages?: number;
  /** Look-back of the first call, when there is no watermark yet. Default 24 hours. */
  initialLookbackMinutes?: number;
  now?: () => Date;
}

const CALL = { action: 'read MDI alerts (security/alerts_v2)', permission: 'SecurityAlert.Read.All' } as const;

/**
 * MDI alerts from Graph security/alerts_v2, changed since the watermark. The list contract
 * (https://learn.microsoft.com/graph/api/security-list-alerts_v2): $filter on lastUpdateDateTime,
 * $top, paging by @odata.nextLink, no $orderby ("the most recent alerts are displayed at the top
 * of the list"). So pages arrive in no order we may use: the watermark is the newest
 * lastUpdateDateTime over ALL pages of a window read to its end.
 *
 * A window with more changes than maxPages × pageSize cannot be read to its end in one go, and
 * since the newest come first, reading it again from the same watermark would read the same
 * newest pages forever and never the older ones. So a window cut short is narrowed: the same
 * start, half the span (`lastUpdateDateTime lt <upper>`), until a window is read to its end; the
 * watermark then moves to that window's upper bound, and the next poll reads on from there.
 */
export function createGraphAlertSource(options: CreateGraphAlertSourceOptions): AlertSource {
  const overlapMs = (options.overlapSeconds ?? 120) * 1000;
  const pageSize = options.pageSize ?? 50;
  const maxPages = options.maxPages ?? 100;
  const lookbackMs = (options.initialLookbackMinutes ?? 1440) * 60_000;
  const now = options.now ?? (() => new Date());
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new AppError('CONFIG_INVALID', 'The Graph alert page size must be a whole number from 1 to 1000.');
  if (!Number.isInteger(maxPages) || maxPages < 1) throw new AppError('CONFIG_INVALID', 'The Graph alert page limit must be a whole number of at least 1.');
  const log = options.logger.child({ source: 'graph' });
  const expectedOrigin = originOf(options.client);

  interface WindowRead {
    alerts: Alert[];
    problems: AlertSourceProblem[];
    newest: number | undefined;
    /** Stopped at maxPages: the window holds more than was read. */
    cut: boolean;
    /** Stopped for another reason (a next page elsewhere): nothing to narrow. */
    broken: boolean;
  }

  async function readWindow(from: Date, upper: number | undefined, signal: AbortSignal | undefined): Promise<WindowRead> {
    // DateTimeOffset literals are unquoted in OData $filter; quoting them is a 400.
    let filter = `serviceSource eq 'microsoftDefenderForIdentity' and lastUpdateDateTime ge ${from.toISOString()}`;
    if (upper !== undefined) filter += ` and lastUpdateDateTime lt ${new Date(upper).toISOString()}`;
    const read: WindowRead = { alerts: [], problems: [], newest: undefined, cut: false, broken: false };
    let pages = 0;
    let next: string | undefined;
    do {
      signal?.throwIfAborted();
      let request = next === undefined ? options.client.api('/security/alerts_v2').filter(filter).top(pageSize) : options.client.api(next);
      if (signal) request = request.option('signal', signal);
      let page: unknown;
      try {
        page = await request.get();
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw graphErrorToAppError(error, CALL);
      }
      pages++;
      const { value, nextLink } = readPage(page);
      for (const raw of value) {
        try {
          const { alert, warnings } = mapGraphAlert(raw);
          read.alerts.push(alert);
          for (const warning of warnings) read.problems.push({ sourceId: alert.sourceId, message: warning });
          const updated = alert.lastUpdatedAt === undefined ? Number.NaN : Date.parse(alert.lastUpdatedAt);
          if (!Number.isNaN(updated) && (read.newest === undefined || updated > read.newest)) read.newest = updated;
        } catch (error) {
          if (!isAppError(error)) throw error;
          const sourceId = rawId(raw);
          read.problems.push({ ...(sourceId ? { sourceId } : {}), message: `Skipped a Graph alert: ${error.message}` });
        }
      }
      next = nextLink;
      if (next !== undefined && expectedOrigin !== undefined && originOf(next) !== expectedOrigin) {
        // The token would not go there anyway, but a page we cannot read makes the batch incomplete.
        read.problems.push({ message: `Graph returned a next page on another host (${originOf(next) ?? 'unparsable'}); stopped paging.` });
        read.broken = true;
        next = undefined;
      }
      if (next !== undefined && pages >= maxPages) {
        read.cut = true;
        next = undefined;
      }
    } while (next !== undefined);
    log.debug({ from: from.toISOString(), upper: upper === undefined ? undefined : new Date(upper).toISOString(), pages, alerts: read.alerts.length, cut: read.cut }, 'read a Graph alert window');
    return read;
  }

  async function fetchChanged(since: Date | undefined, signal?: AbortSignal): Promise<AlertBatch> {
    const from = new Date((since?.getTime() ?? now().getTime() - lookbackMs) - (since ? overlapMs : 0));
    // A narrowed window must end after this to make progress (the overlap before it was read before).
    const floor = since?.getTime() ?? from.getTime();
    const byId = new Map<string, Alert>();
    const problems: AlertSourceProblem[] = [];
    let lower = from;
    let upper: number | undefined;
    for (;;) {
      const read = await readWindow(lower, upper, signal);
      for (const alert of read.alerts) byId.set(alert.sourceId, alert);
      problems.push(...read.problems);
      const alerts = [...byId.values()];
      if (read.broken) return { alerts, watermark: since, problems, partial: true };
      if (!read.cut) {
        // Read to its end. Open window: the newest change seen (never moving back: the overlap
        // re-reads older ones). Bounded window: everything before `upper` was read.
        const reached = upper ?? read.newest;
        const watermark = reached === undefined || (since !== undefined && reached < since.getTime()) ? since : new Date(reached);
        return { alerts, watermark, problems, partial: false, ...(upper !== undefined ? { more: true } : {}) };
      }
      const top = upper ?? (read.newest === undefined ? floor + 1 : read.newest + 1);
      const half = floor + Math.floor((top - floor) / 2);
      if (half > floor) {
        log.warn({ pages: maxPages, alerts: read.alerts.length, upper: new Date(half).toISOString() }, 'Graph alert paging reached the page limit; reading an older, narrower window first');
        upper = half;
      } else if (lower.getTime() < floor) {
        // The overlap alone holds more than a read: leave it out this time, start at the watermark.
        lower = new Date(floor);
        upper = undefined;
      } else {
        // More than a full read of changes within one millisecond: nothing left to narrow.
        log.warn({ pageSize, maxPages }, 'Graph alert paging stopped at the page limit in a window that cannot be narrowed');
        problems.push({ message: `Stopped after ${maxPages} pages of ${pageSize} alerts; the rest is read on the next poll.` });
        return { alerts, watermark: since, problems, partial: true };
      }
    }
  }

  /**
   * GET /security/alerts_v2/{id} (https://learn.microsoft.com/en-us/graph/api/security-alert-get,
   * SecurityAlert.Read.All): a 404 is "no such alert"; an alert of another Defender product is
   * treated the same way, since the bot only posts MDI alerts.
   */
  async function fetchById(sourceId: string, signal?: AbortSignal): Promise<AlertLookup> {
    if (!GRAPH_ALERT_ID.test(sourceId)) return { found: false, reason: 'the id is not a Graph alert id' };
    let request = options.client.api(`/security/alerts_v2/${encodeURIComponent(sourceId)}`);
    if (signal) request = request.option('signal', signal);
    let raw: unknown;
    try {
      raw = await request.get();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const appError = graphErrorToAppError(error, CALL);
      if (appError.code === 'UPSTREAM_NOT_FOUND') return { found: false, reason: 'Microsoft Graph has no alert with this id' };
      throw appError;
    }
    const service = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>).serviceSource : undefined;
    if (service !== MDI_SERVICE_SOURCE) return { found: false, reason: `the Graph alert is not a Defender for Identity alert (serviceSource ${typeof service === 'string' ? service.slice(0, 60) : 'missing'})` };
    const { alert, warnings } = mapGraphAlert(raw);
    return { found: true, alert, problems: warnings.map((message) => ({ sourceId: alert.sourceId, message })) };
  }

  return { name: 'graph', fetchChanged, fetchById };
}

const MDI_SERVICE_SOURCE = 'microsoftDefenderForIdentity';
/** Graph alert ids: letters, digits and a few separators (e.g. `da637551227677560813_-961444813`). */
const GRAPH_ALERT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;

function readPage(page: unknown): { value: unknown[]; nextLink: string | undefined } {
  if (page === null || typeof page !== 'object' || !Array.isArray((page as { value?: unknown }).value)) {
    throw new AppError('UPSTREAM_ERROR', 'Microsoft Graph answered the alert list without a value array.');
  }
  const link = (page as Record<string, unknown>)['@odata.nextLink'];
  return { value: (page as { value: unknown[] }).value, nextLink: typeof link === 'string' && link !== '' ? link : undefined };
}

function rawId(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const id = (raw as Record<string, unknown>).id;
  return typeof id === 'string' && id.trim() !== '' && id.length <= 256 ? id : undefined;
}

function originOf(target: Client | string): string | undefined {
  try {
    if (typeof target === 'string') return new URL(target).origin;
    // The SDK keeps its base URL in config; read defensively, it is not a public field.
    const base = (target as unknown as { config?: { baseUrl?: unknown } }).config?.baseUrl;
    return typeof base === 'string' ? new URL(base).origin : undefined;
  } catch {
    return undefined;
  }
}
