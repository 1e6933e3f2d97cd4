/**
 * Throwaway PostgreSQL databases for tests, on the local server (127.0.0.1:5432, trust auth,
 * user postgres). Each call creates a uniquely named database and returns a drop function.
 *
 * If the server is unreachable: in CI (`CI` set) that is a failure with instructions; on a
 * developer machine the PostgreSQL half of the suites is skipped with a message.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const HOW_TO_START =
  'Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start ' +
  '(or set TEST_POSTGRES_URL to an admin URL of a reachable server).';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Whether PostgreSQL tests can run. Throws in CI when the server is down, so a broken setup
 * cannot pass as "skipped".
 */
export async function probePostgres(): Promise<{ available: true } | { available: false; reason: string }> {
  try {
    await withAdmin((client) => client.query('select 1'));
    return { available: true };
  } catch (error) {
    const reason = `PostgreSQL is not reachable at ${new URL(ADMIN_URL).host} (${(error as Error).message}).`;
    if (process.env.CI) throw new Error(`${reason} ${HOW_TO_START}`, { cause: error });
    console.warn(`[test] ${reason} Skipping PostgreSQL tests. ${HOW_TO_START}`);
    return { available: false, reason };
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  // Lower-case letters and digits only: safe to interpolate as an identifier.
  const name = `ib_test_${process.pid}_${randomBytes(5).toString('hex')}`;
  await withAdmin((client) => client.query(`create database ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    // `with (force)` ends connections a failed test left open (PostgreSQL 13+).
    drop: () => withAdmin(async (client) => void (await client.query(`drop database if exists ${name} with (force)`))),
  };
}
