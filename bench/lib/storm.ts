/**
 * An alert storm: N MDI alerts about M accounts on the local Graph, read by the real Graph alert
 * source (production paging: $top 50, 100 pages per window, so more than 5,000 changed alerts take
 * the narrowed-window path), stored in a real store, and posted by the real notifier (one or two
 * instances) through the Teams messenger (production retry policy and pacer) to the local
 * connector, which enforces Teams' per-conversation limits and refuses a share of requests with
 * 429 + Retry-After.
 *
 * Time scale: every alert goes to the one alert channel, and Teams counts a channel with all its
 * threads as one conversation: 7/1 s, 8/2 s, 60/30 s, 1,800/h. 10,000 cards at those limits take
 * more than five hours at the ideal rate. With `timeScale` S > 1 every window (the connector's,
 * the pacer's and the ideal schedule's alike) is S times shorter: the same pacer code and the
 * same limits in shape, only faster; the ratio to the ideal schedule keeps its meaning, the
 * absolute rate is not Teams'. Retry-After of injected faults is left in real seconds (the
 * ideal schedule pays it too).
 */
import { createOutboundPacer } from '../../src/bot/outbound-pacer.ts';
import { createBotAdapter } from '../../src/bot/bot-adapter.ts';
import { createTeamsMessenger } from '../../src/bot/teams-messenger.ts';
import { loadConfig } from '../../src/config/config.ts';
import { mdiAlert, type AccountInput } from '../../sim/graph/graph-alert-factory.ts';
import { TEAMS_RATE_LIMITS, type ConnectorRateLimits } from '../../sim/teams/bot-connector-server.ts';
import { putAlert } from '../../sim/tenant.ts';
import { startNotifierHarness } from '../../sim/harness/notifier-harness.ts';
import type { Notifier, RoundReport } from '../../src/notifier/notifier.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { distribution, waitFor, type BenchResult } from './bench-report.ts';
import { limitBound } from './teams-limit-bound.ts';

export interface StormOptions {
  alerts: number;
  accounts: number;
  faultShare: number;
  retryAfterSeconds: number;
  /** 1: Teams' limits as they are; 'auto': scaled so the ideal posting takes about `targetSeconds`. */
  timeScale: number | 'auto';
  targetSeconds?: number;
  /** One store URL per instance (PostgreSQL for two); default one fresh SQLite file. */
  databaseUrls?: string[];
  /** With two instances: the leader is stopped (gracefully) once this share of cards is posted. */
  stopLeaderAt?: number;
  concurrency?: number;
  /** Graph $top of the source (default the production 50). */
  pageSize?: number;
}

const TARGET_EFFICIENCY = 0.9;

function person(i: number): AccountInput {
  return { accountName: `storm${i}`, domainName: 'CORP', userSid: `S-1-5-21-7000-8000-9000-${10_000 + i}`, userPrincipalName: `storm${i}@corp.example.test`, displayName: `Storm ${i}`, roles: ['compromised'] };
}

function scaled(limits: ConnectorRateLimits, scale: number): ConnectorRateLimits {
  const shrink = (w: { limit: number; windowMs: number }) => ({ limit: w.limit, windowMs: w.windowMs / scale });
  return { ...limits, perConversation: limits.perConversation.map(shrink), global: limits.global.map(shrink) };
}

export async function runStorm(result: BenchResult, o: StormOptions): Promise<void> {
  const accounts = Math.min(o.accounts, o.alerts);
  const postsPerThread = Array.from({ length: accounts }, (_, i) => Math.floor(o.alerts / accounts) + (i < o.alerts % accounts ? 1 : 0));
  const boundAt = (scale: number) => {
    const limits = scaled(TEAMS_RATE_LIMITS, scale);
    return limitBound({ postsPerThread, perConversation: limits.perConversation, global: limits.global, faultShare: o.faultShare, faultRetryAfterMs: o.retryAfterSeconds * 1000 });
  };
  const realIdeal = boundAt(1);
  const scale = o.timeScale === 'auto' ? Math.max(1, realIdeal.durationMs / 1000 / (o.targetSeconds ?? 120)) : o.timeScale;
  const limits = scaled(TEAMS_RATE_LIMITS, scale);
  const ideal = boundAt(scale);
  const instances = o.databaseUrls?.length ?? 1;
  result.setup = `${o.alerts} alerts, ${accounts} accounts, ${instances} instance(s) on ${o.databaseUrls?.[0]?.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'}, ${(o.faultShare * 100).toFixed(1)} % injected 429 (Retry-After ${o.retryAfterSeconds} s), Teams limits${scale > 1 ? ` at time scale ${scale.toFixed(0)} (ideal at real limits: ${(realIdeal.durationMs / 3600_000).toFixed(1)} h)` : ''}`;

  const h = await startNotifierHarness({ graphPageSize: o.pageSize ?? 50 });
  const stores: Store[] = [];
  const notifiers: Notifier[] = [];
  try {
    const start = Date.now() - 2 * 60 * 60_000;
    const spacing = Math.min(1000, Math.floor((2 * 60 * 60_000 - 60_000) / o.alerts));
    for (let i = 0; i < o.alerts; i++) {
      const at = new Date(start + i * spacing);
      putAlert(h.demo.tenant, mdiAlert({ accounts: [person(i % accounts)], createdDateTime: at, lastUpdateDateTime: at, device: null }));
    }
    h.connector.rateLimits = limits;
    if (o.faultShare > 0) h.connector.faults.push({ status: 429, retryAfterSeconds: o.retryAfterSeconds, share: o.faultShare });

    // The messenger as the composition root builds it (default retry policy, one pacer per app),
    // with the pacer's windows on the same time scale as the connector's.
    const adapter = createBotAdapter({ config: loadConfig({ BOT_AUTH: 'off', ALERT_SOURCES: 'none' }), logger: h.log.logger });
    for (let i = 0; i < instances; i++) {
      const pacer = createOutboundPacer({ perConversation: limits.perConversation, global: limits.global, maxInFlightPerKey: 1 });
      const messenger = createTeamsMessenger({ adapter, botAppId: 'local-incident-bot', logger: h.log.logger, timeoutMs: 15_000, pacer });
      const store = await h.store(o.databaseUrls?.[i]);
      stores.push(store);
      notifiers.push(h.notifier(store, { messenger, instanceId: `bench-${i}`, pollIntervalSeconds: 1, tuning: { leaseTtlMs: 20_000, fetchTimeoutMs: 300_000, ...(o.concurrency ? { concurrency: o.concurrency } : {}) } }));
    }

    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    for (const notifier of notifiers) notifier.start();
    let leaderStopped = false;
    await waitFor(`${o.alerts} cards`, Math.max(600_000, (ideal.durationMs + 60_000) * 3), async () => {
      const posted = h.connector.cardsPosted().length;
      if (instances > 1 && !leaderStopped && o.stopLeaderAt !== undefined && posted >= o.alerts * o.stopLeaderAt) {
        leaderStopped = true;
        // The instance holding the poller lease is the one posting: stop it mid-storm.
        const leader = h.log.lines().filter((l) => l.msg === 'took the poller lease: this instance polls and posts').at(-1)?.instance as string | undefined;
        const index = leader ? Number(leader.replace('bench-', '')) : 0;
        await notifiers[index]!.stop();
        result.notes.push(`instance bench-${index} (the leader) stopped after ${posted} cards; the other took over`);
      }
      return posted >= o.alerts;
    }, 200);
    const seconds = (Date.now() - started) / 1000;
    for (const notifier of notifiers) await notifier.stop();
    // Anything posted twice would arrive after the last expected card: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const rssAfter = process.memoryUsage().rss;

    const cards = h.connector.cardsPosted();
    const codes = new Set(cards.map((r) => /"title":"Ref","value":"([A-Z0-9]+)"/.exec(JSON.stringify(r.activity))?.[1]));
    const creates = h.connector.sent.filter((r) => r.kind === 'create').length;
    const injected = h.connector.rejected.filter((r) => r.reason === 'fault').length;
    const limited = h.connector.rejected.filter((r) => r.reason === 'rate-limit').length;
    const polls = h.log.lines().filter((l) => l.msg === 'alert source polled');
    if (cards.length !== o.alerts) result.errors.push(`${cards.length} cards posted for ${o.alerts} alerts`);
    if (codes.size !== o.alerts || codes.has(undefined)) result.errors.push(`${codes.size} distinct alert refs among ${cards.length} cards (lost or duplicated)`);
    if (creates !== accounts) result.errors.push(`${creates} threads created for ${accounts} accounts`);
    if (h.connector.sent.length !== o.alerts) result.errors.push(`${h.connector.sent.length} accepted connector calls for ${o.alerts} cards (duplicates or extra calls)`);

    const arrivals = cards.map((r) => r.at.getTime() - started);
    const first = Math.min(...arrivals);
    const last = Math.max(...arrivals);
    const achieved = o.alerts / (last / 1000);
    const idealRate = o.alerts / ((first + ideal.durationMs) / 1000);
    const postingRate = o.alerts / ((last - first) / 1000);
    const idealPostingRate = o.alerts / (ideal.durationMs / 1000);
    const efficiency = achieved / idealRate;
    const lost = o.alerts - codes.size + (codes.has(undefined) ? 1 : 0);
    const duplicated = cards.length - codes.size;
    result.rows.push(
      { metric: 'storm rate ÷ ideal (from storm start)', ...distribution(arrivals), rate: `${achieved.toFixed(1)} cards/s = ${(efficiency * 100).toFixed(0)} %`, target: `>= ${TARGET_EFFICIENCY * 100}% of ${idealRate.toFixed(1)}/s`, verdict: efficiency >= TARGET_EFFICIENCY ? 'PASS' : 'FAIL' },
      { metric: 'posting only (first to last card) ÷ ideal', n: o.alerts, rate: `${postingRate.toFixed(1)} cards/s = ${((postingRate / idealPostingRate) * 100).toFixed(0)} %`, target: `ideal ${idealPostingRate.toFixed(1)}/s`, verdict: 'info' },
      { metric: 'time to first card (poll + store + post)', n: 1, p50: first, max: first, target: '', verdict: 'info' },
      { metric: 'lost / duplicated cards', n: cards.length, rate: `${lost} / ${duplicated}`, target: '0 / 0', verdict: lost === 0 && duplicated === 0 && result.errors.length === 0 ? 'PASS' : 'FAIL' },
      { metric: 'RSS at the end (bench process: bot + stand-ins)', n: 1, rate: `${(rssAfter / 1048576).toFixed(0)} MB (+${((rssAfter - rssBefore) / 1048576).toFixed(0)} MB during the storm)`, target: '', verdict: 'info' },
    );
    result.notes.push(
      `${o.alerts} alerts in ${seconds.toFixed(1)} s; ideal posting ${(ideal.durationMs / 1000).toFixed(1)} s after a ${(first / 1000).toFixed(1)} s first poll; ${polls.length} polls (${polls.filter((l) => l.more).length} of them read a narrowed window and read on at once)`,
      `connector refused ${injected} requests as injected 429s and ${limited} for Teams rate limits; threads ${creates}`,
    );
  } finally {
    for (const notifier of notifiers) await notifier.stop().catch(() => undefined);
    for (const store of stores) await store.close().catch(() => undefined);
    await h.close();
  }
}

export type { RoundReport };
