/**
 * Alert storm at Teams' real limits (bench/lib/storm.ts): N alerts about M accounts, one notifier
 * on SQLite (or BENCH_DATABASE_URL), 2 % injected 429s.
 *
 *   node bench/alert-storm.ts     BENCH_ALERTS (300), BENCH_ACCOUNTS (30), BENCH_429_SHARE (0.02),
 *                                 BENCH_DATABASE_URL, BENCH_NOTIFIER_CONCURRENCY
 *
 * Target (issues 3, 12, 16): at least 90 % of the rate of an ideal zero-latency schedule of the
 * same posts under the same limits and faults; 0 lost, 0 duplicated.
 */
import { intEnv, runBench, shareEnv } from './lib/bench-report.ts';
import { runStorm } from './lib/storm.ts';
import { ensureTrustedTestCa } from './lib/trusted-ca.ts';

ensureTrustedTestCa(import.meta.filename);

await runBench('alert-storm', (result) =>
  runStorm(result, {
    alerts: intEnv('BENCH_ALERTS', 300),
    accounts: intEnv('BENCH_ACCOUNTS', 30),
    faultShare: shareEnv('BENCH_429_SHARE', 0.02),
    retryAfterSeconds: 1,
    timeScale: 1,
    ...(process.env.BENCH_DATABASE_URL ? { databaseUrls: [process.env.BENCH_DATABASE_URL] } : {}),
    ...(process.env.BENCH_NOTIFIER_CONCURRENCY ? { concurrency: intEnv('BENCH_NOTIFIER_CONCURRENCY', 8) } : {}),
  }),
);
