/**
 * Two instances on one PostgreSQL database under a storm (issue 16): both run the notifier; the
 * poller lease makes one of them poll and post; midway the leader is stopped (gracefully, as a
 * rolling deploy does) and the other takes over. Every alert must reach the channel exactly once;
 * the rate is the two instances' combined rate against the ideal schedule.
 *
 *   node bench/storm-postgres.ts     BENCH_PG_ALERTS (2000), BENCH_PG_ACCOUNTS (40), BENCH_PG_SECONDS (60),
 *                                    BENCH_POSTGRES_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { intEnv, runBench } from './lib/bench-report.ts';
import { runStorm } from './lib/storm.ts';
import { ensureTrustedTestCa } from './lib/trusted-ca.ts';

ensureTrustedTestCa(import.meta.filename);

const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

await runBench('storm-postgres', async (result) => {
  // Lower-case letters and digits only: safe as an identifier.
  const name = `ib_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  try {
    await runStorm(result, {
      alerts: intEnv('BENCH_PG_ALERTS', 2000),
      accounts: intEnv('BENCH_PG_ACCOUNTS', 40),
      faultShare: 0.001,
      retryAfterSeconds: 1,
      timeScale: 'auto',
      targetSeconds: intEnv('BENCH_PG_SECONDS', 60),
      databaseUrls: [url.toString(), url.toString()],
      stopLeaderAt: 0.4,
    });
  } finally {
    await admin(`drop database if exists ${name} with (force)`).catch((error: unknown) => result.notes.push(`could not drop ${name}: ${String(error)}`));
  }
});
