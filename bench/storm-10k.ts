/**
 * The big storm (issue 16): 10,000 alerts over 200 accounts, one notifier on SQLite. More than
 * 5,000 changed alerts in one window, so the Graph source narrows its window and reads on; at
 * Teams' real limits the ideal posting takes over five hours (1,800 per hour in the channel), so
 * the limits run on a time scale (bench/lib/storm.ts) chosen for an ideal of BENCH_STORM_SECONDS.
 *
 *   node bench/storm-10k.ts     BENCH_STORM_ALERTS (10000), BENCH_STORM_ACCOUNTS (200),
 *                               BENCH_STORM_429_SHARE (0.001), BENCH_STORM_SECONDS (330: a time scale of about 60; higher scales make one round trip a visible share of the shortest windows), BENCH_TIME_SCALE (auto)
 *
 * Target: at least 90 % of the ideal rate, 0 lost, 0 duplicated; RSS at the end shown.
 */
import { intEnv, runBench, shareEnv } from './lib/bench-report.ts';
import { runStorm } from './lib/storm.ts';
import { ensureTrustedTestCa } from './lib/trusted-ca.ts';

ensureTrustedTestCa(import.meta.filename);

await runBench('storm-10k', (result) =>
  runStorm(result, {
    alerts: intEnv('BENCH_STORM_ALERTS', 10_000),
    accounts: intEnv('BENCH_STORM_ACCOUNTS', 200),
    faultShare: shareEnv('BENCH_STORM_429_SHARE', 0.001),
    retryAfterSeconds: 1,
    timeScale: process.env.BENCH_TIME_SCALE ? intEnv('BENCH_TIME_SCALE', 1) : 'auto',
    targetSeconds: intEnv('BENCH_STORM_SECONDS', 330),
  }),
);
