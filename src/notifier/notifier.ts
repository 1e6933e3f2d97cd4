import type { ActionPolicy } from '../actions/action-policy.ts';
import type { DirectoryCapabilities } from '../actions/propose-actions.ts';
import type { Config } from '../config/config.ts';
import type { AlertSource } from '../domain/ports/alert-source.ts';
import { errorCode, isAppError } from '../domain/errors.ts';
import type { ConversationReferenceJson, Messenger } from '../domain/ports/messenger.ts';
import type { Logger } from '../observability/logger.ts';
import { recordPoll } from './poll-status.ts';
import type { Store } from '../domain/ports/store.ts';
import { createAlertMessageRenderer, type RenderAlertMessage } from './alert-message.ts';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff.ts';
import { collectAlerts, type CollectReport } from './collect-alerts.ts';
import { deliverAlerts, retryAfterOf, type DeliverReport } from './deliver-alerts.ts';
import { resolveDestinations } from './destinations.ts';
import { updateCards, type UpdateReport } from './update-cards.ts';
import { annotateCurrentSpan, inSpan } from '../shared/telemetry.ts';

/** Name of the store lease that makes one instance the poller. */
export const POLLER_LEASE = 'alert-poller';

/** Only shown on cards with decisions, which the default renderer never has. */
const DEFAULT_TTL_MINUTES = 240;

export type NotifierConfig = Pick<Config, 'pollIntervalSeconds' | 'minSeverity' | 'threadWindowMinutes' | 'dryRun'>;

export interface NotifierTuning {
  /** Poller lease lifetime; renewed every round and between batches. Default max(3 polls, 2 min). */
  leaseTtlMs: number;
  /** Age after which another instance's posting/update claim is considered dead. Default 10 min. */
  claimStaleMs: number;
  /** Bound on one source call (all its pages). Default 60 s. */
  fetchTimeoutMs: number;
  /** Delay before retrying a failed round. Default 5 s doubling to 5 min. */
  retry: BackoffPolicy;
  /** Alerts claimed per batch. Default 50. */
  batchSize: number;
  /**
   * Alerts posted at once, each from a different account group (Teams' pacing is the real limit;
   * this bounds the store and render work in flight). Default 32: enough threads at a time to fill
   * Teams' 50 per second while each thread is held to 8 per 2 s.
   */
  concurrency: number;
  /** Alerts claimed ahead of posting, at most. Default: see DeliverAlertsDeps.lookahead. */
  lookahead?: number;
  /**
   * With push ingestion: how often the poller instance also drains the outbox between polls, so
   * an alert pushed to another instance (which only records it) is posted within this time.
   * Undefined: only at each poll and when this instance is pushed to.
   */
  outboxCheckMs?: number;
}

export interface NotifierClock {
  now(): Date;
}

export interface NotifierDeps {
  store: Store;
  sources: readonly AlertSource[];
  messenger: Messenger;
  policy: ActionPolicy;
  capabilities: DirectoryCapabilities;
  config: NotifierConfig;
  /** The configured channel (TEAMS_CHANNEL_ID + TEAMS_SERVICE_URL); else subscriptions are used. */
  channel?: ConversationReferenceJson;
  logger: Logger;
  /** Unique per process: lease holder and claim owner. */
  instanceId: string;
  clock?: NotifierClock;
  /** Card rendering; default: the alert card with the policy's proposed actions. */
  render?: RenderAlertMessage;
  tuning?: Partial<NotifierTuning>;
}

export type PollResult = CollectReport | { source: string; error: string };

export interface RoundReport {
  /** This instance held the poller lease for the round. */
  leader: boolean;
  polls: PollResult[];
  delivery?: DeliverReport;
  updates?: UpdateReport;
  /** Something failed: the next round comes after a backoff instead of the poll interval. */
  failed: boolean;
  retryAfterMs?: number;
}

export interface Notifier {
  /** Starts polling every POLL_INTERVAL_SECONDS (first round at once). */
  start(): void;
  /** Graceful: no new round; the round in flight finishes the posts under way and hands back the alerts it claimed but had not started; the lease is released. */
  stop(): Promise<void>;
  /** One round now (waits for a round in flight first). For tests and diagnostics. */
  runOnce(): Promise<RoundReport>;
  /**
   * Posts what the outbox holds now, without polling (a pushed alert was just recorded). Only the
   * poller instance posts: undefined when another instance holds the poller lease (it posts the
   * alert at its next round or outbox check). Calls made while one waits share it.
   */
  deliverNow(): Promise<DeliverReport | undefined>;
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const { store, sources, messenger, config, instanceId } = deps;
  const clock = deps.clock ?? { now: () => new Date() };
  const now = () => clock.now();
  const intervalMs = config.pollIntervalSeconds * 1000;
  const tuning: NotifierTuning = {
    leaseTtlMs: Math.max(3 * intervalMs, 120_000),
    claimStaleMs: 10 * 60_000,
    fetchTimeoutMs: 60_000,
    retry: { baseMs: 5_000, maxMs: 5 * 60_000 },
    batchSize: 50,
    concurrency: 32,
    ...deps.tuning,
  };
  const log = deps.logger.child({ component: 'notifier', instance: instanceId });
  const render =
    deps.render ??
    createAlertMessageRenderer({ policy: deps.policy, capabilities: deps.capabilities, dryRun: config.dryRun, ttlMinutes: DEFAULT_TTL_MINUTES });

  let leader = false;
  let stopping = false;
  let waitingForChannel = false;
  let loop: Promise<void> | undefined;
  let wake = new AbortController();
  let chain: Promise<unknown> = Promise.resolve();

  /** Renews the lease; false when it was lost (another instance took over after expiry). */
  async function holdLease(): Promise<boolean> {
    const held = await store.renewLease(POLLER_LEASE, instanceId, tuning.leaseTtlMs, now());
    if (!held && leader) log.warn('lost the poller lease mid-round (taken over after expiry): stopping this round');
    leader = held;
    return held;
  }

  async function round(): Promise<RoundReport> {
    const report: RoundReport = { leader: false, polls: [], failed: false };
    const acquired = await store.tryAcquireLease(POLLER_LEASE, instanceId, tuning.leaseTtlMs, now());
    if (acquired && !leader) log.info({ ttlMs: tuning.leaseTtlMs }, 'took the poller lease: this instance polls and posts');
    if (!acquired && leader) log.warn('poller lease held by another instance: standing by');
    leader = acquired;
    annotateCurrentSpan({ 'incident.leader': acquired });
    if (!acquired) return report;
    report.leader = true;

    const fail = (retryAfterMs: number | undefined) => {
      report.failed = true;
      report.retryAfterMs = Math.max(report.retryAfterMs ?? 0, retryAfterMs ?? 0) || undefined;
    };

    // Each source on its own: one failing (Sentinel down) does not hold back the other.
    for (const source of sources) {
      try {
        const signal = AbortSignal.timeout(tuning.fetchTimeoutMs);
        report.polls.push(await inSpan('notifier.poll', { 'incident.alert.source': source.name }, () => collectAlerts({ store, source, minSeverity: config.minSeverity, logger: log, now, signal })));
        await recordPoll(store, source.name, now());
      } catch (error) {
        fail(retryAfterOf(error));
        const code = errorCode(error);
        report.polls.push({ source: source.name, error: code });
        await recordPoll(store, source.name, now(), isAppError(error) ? error.message : 'The source could not be polled (internal error; see the logs).').catch((statusError: unknown) =>
          log.warn({ err: statusError }, 'could not record the poll status'),
        );
        log.warn({ err: error, source: source.name, errorCode: code }, 'polling the alert source failed; retrying with backoff');
      }
      if (!(await holdLease())) return report;
    }

    // Posting and updates run even after a failed poll: what is already stored still goes out.
    await deliverStored(report, fail);
    return report;
  }

  /** The posting half of a round: the outbox drained, then stale cards updated. */
  async function deliverStored(report: Pick<RoundReport, 'delivery' | 'updates'>, fail: (retryAfterMs: number | undefined) => void): Promise<void> {
    try {
      const destinations = await resolveDestinations(store, deps.channel);
      // Before each claim: stop on a lost lease, and on shutdown (posts under way are finished, the
      // claimed alerts not yet started are handed back).
      const shouldContinue = async () => !stopping && (await holdLease());
      const common = { store, messenger, render, destinations, holder: instanceId, claimStaleMs: tuning.claimStaleMs, logger: log, now, shouldContinue };
      report.delivery = await deliverAlerts({
        ...common,
        minSeverity: config.minSeverity,
        threadWindowMs: config.threadWindowMinutes * 60_000,
        batchSize: tuning.batchSize,
        concurrency: tuning.concurrency,
        ...(tuning.lookahead !== undefined ? { lookahead: tuning.lookahead } : {}),
      });
      if (report.delivery.waitingForChannel !== waitingForChannel) {
        waitingForChannel = report.delivery.waitingForChannel;
        if (waitingForChannel) log.warn('no Teams channel yet (type "@bot subscribe" in one, or set TEAMS_CHANNEL_ID): alerts are recorded and wait');
        else log.info('a Teams channel is available: posting waiting alerts');
      }
      if (report.delivery.failed > 0) fail(report.delivery.retryAfterMs);
      report.updates = await updateCards(common);
      if (report.updates.failed > 0) fail(report.updates.retryAfterMs);
    } catch (error) {
      // The store itself failing: claims left behind go stale and are taken over later.
      fail(retryAfterOf(error));
      log.error({ err: error, errorCode: errorCode(error) }, 'delivering alert cards failed; retrying with backoff');
    }
  }

  /** A delivery-only pass under the poller lease (no poll): pushed alerts go out at once. */
  async function deliveryPass(): Promise<DeliverReport | undefined> {
    const acquired = await store.tryAcquireLease(POLLER_LEASE, instanceId, tuning.leaseTtlMs, now());
    if (acquired && !leader) log.info({ ttlMs: tuning.leaseTtlMs }, 'took the poller lease: this instance polls and posts');
    leader = acquired;
    if (!acquired) return undefined;
    const report: Pick<RoundReport, 'delivery' | 'updates'> = {};
    await deliverStored(report, () => undefined);
    return report.delivery;
  }

  let queuedDelivery: Promise<DeliverReport | undefined> | undefined;
  function deliverNow(): Promise<DeliverReport | undefined> {
    // One pass waiting behind the round in flight covers every push that arrives meanwhile.
    if (queuedDelivery) return queuedDelivery;
    const next = chain.then(() => {
      queuedDelivery = undefined;
      return stopping ? undefined : deliveryPass();
    });
    queuedDelivery = next;
    chain = next.catch(() => undefined);
    return next;
  }

  function runOnce(): Promise<RoundReport> {
    // One trace per round: poll per source, store, post and update under it.
    const next = chain.then(() => inSpan('notifier.cycle', {}, round, { root: true }));
    chain = next.catch(() => undefined);
    return next;
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let delay = intervalMs;
      try {
        const report = await runOnce();
        failures = report.failed ? failures + 1 : 0;
        if (report.failed) delay = backoffDelay(failures, tuning.retry, report.retryAfterMs);
        // A source that read a narrowed window (more changes than its page limit) reads on at once.
        else if (report.polls.some((poll) => 'more' in poll && poll.more)) delay = 0;
      } catch (error) {
        // Only the lease query itself can get here (the store is down): keep the loop alive.
        failures++;
        delay = backoffDelay(failures, tuning.retry);
        log.error({ err: error, errorCode: errorCode(error) }, 'notifier round failed; retrying with backoff');
      }
      if (failures > 0) log.info({ delayMs: delay, failures }, 'next notifier round after backoff');
      await waitForNextRound(delay, failures === 0);
    }
  }

  /** Sleeps until the next round; with outbox checks on, the poller drains the outbox meanwhile. */
  async function waitForNextRound(delay: number, healthy: boolean): Promise<void> {
    const checkMs = tuning.outboxCheckMs;
    if (checkMs === undefined || checkMs <= 0 || checkMs >= delay || !healthy) return sleep(delay, wake.signal);
    const due = Date.now() + delay;
    while (!stopping) {
      const left = due - Date.now();
      if (left <= 0) return;
      await sleep(Math.min(checkMs, left), wake.signal);
      if (stopping || Date.now() >= due || !leader) continue;
      await deliverNow().catch((error: unknown) => log.warn({ err: error, errorCode: errorCode(error) }, 'outbox check failed'));
    }
  }

  return {
    start() {
      if (loop) return;
      stopping = false;
      wake = new AbortController();
      log.info({ pollIntervalSeconds: config.pollIntervalSeconds, sources: sources.map((s) => s.name) }, 'notifier started');
      loop = run();
    },
    async stop() {
      stopping = true;
      wake.abort();
      await loop;
      await chain;
      loop = undefined;
      if (leader) {
        // Hand over at once instead of making the next poller wait for the lease to expire.
        await store.releaseLease(POLLER_LEASE, instanceId).catch((error: unknown) => log.warn({ err: error }, 'could not release the poller lease'));
        leader = false;
      }
      log.info('notifier stopped');
    },
    runOnce,
    deliverNow,
  };
}
