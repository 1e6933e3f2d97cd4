/**
 * Opens the Store named by DATABASE_URL: unset or `sqlite:<path>` -> an SQLite file (one
 * machine), `postgres://` / `postgresql://` -> a pg Pool (several instances). Applies pending
 * migrations before returning, so a running bot always has the schema it was built for.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import { AppError } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { createMigrationProvider, type StoreDialect } from './migrations.ts';
import type { Database } from './schema.ts';
import { NodeSqliteDialect, openSqliteDatabase } from './sqlite-dialect.ts';
import { SqlStore } from './sql-store.ts';
import type { Store } from '../domain/ports/store.ts';
import { redactDatabaseUrl, toStoreError } from './store-errors.ts';

export const DEFAULT_SQLITE_PATH = './data/incident-bot.db';

export interface OpenStoreOptions {
  /** Unset -> SQLite at ./data/incident-bot.db; `sqlite:<path>`, `sqlite::memory:`, `postgres://...`. */
  databaseUrl?: string;
  logger: Logger;
  /** PostgreSQL pool size per instance. */
  maxConnections?: number;
}

export type DatabaseTarget = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

export function parseDatabaseUrl(databaseUrl: string | undefined): DatabaseTarget {
  const url = databaseUrl?.trim();
  if (url === undefined || url === '') return { dialect: 'sqlite', path: DEFAULT_SQLITE_PATH };
  if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: 'postgres', url };
  if (/^sqlite:/i.test(url)) {
    // sqlite:./x.db, sqlite:/abs/x.db, sqlite:///abs/x.db, sqlite::memory:
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') path = DEFAULT_SQLITE_PATH;
    return { dialect: 'sqlite', path };
  }
  throw new AppError('CONFIG_INVALID', `DATABASE_URL must start with sqlite:, postgres:// or postgresql:// (got ${redactDatabaseUrl(url)}).`);
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const target = parseDatabaseUrl(options.databaseUrl);
  const where = target.dialect === 'sqlite' ? target.path : redactDatabaseUrl(target.url);
  const log = options.logger.child({ component: 'store', dialect: target.dialect, database: where });

  const db = target.dialect === 'sqlite' ? openSqlite(target.path) : await openPostgres(target.url, options.maxConnections ?? 10, log);
  try {
    await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
  } catch (error) {
    await db.destroy().catch(() => undefined); // the connection failure is the error worth reporting
    const failure = unavailable(target.dialect, where, error);
    log.error({ code: failure.code, driverCode: (error as { code?: unknown } | null)?.code }, 'store unavailable');
    throw failure;
  }

  await migrate(db, target.dialect, log);
  log.info('store opened');
  return guardErrors(new SqlStore(db, target.dialect));
}

function openSqlite(path: string): Kysely<Database> {
  const where = path === ':memory:' ? path : resolve(path);
  try {
    if (path !== ':memory:') mkdirSync(dirname(where), { recursive: true });
    return new Kysely<Database>({ dialect: new NodeSqliteDialect(openSqliteDatabase(where)) });
  } catch (error) {
    throw unavailable('sqlite', path, error);
  }
}

async function openPostgres(url: string, max: number, log: Logger): Promise<Kysely<Database>> {
  // The driver is loaded only for a PostgreSQL store: an SQLite deployment never pays for it.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
  // An idle client losing its server emits 'error' on the pool; unhandled, it kills the process.
  pool.on('error', (error) => log.warn({ code: (error as { code?: string }).code }, 'idle PostgreSQL connection failed'));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

async function migrate(db: Kysely<Database>, dialect: StoreDialect, log: Logger): Promise<void> {
  const migrator = new Migrator({ db, provider: createMigrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  for (const result of results ?? []) {
    if (result.status === 'Success') log.info({ migration: result.migrationName }, 'migration applied');
    if (result.status === 'Error') log.error({ migration: result.migrationName }, 'migration failed');
  }
  if (error !== undefined) {
    await db.destroy().catch(() => undefined);
    const mapped = toStoreError(error, 'the schema migration');
    throw mapped.code === 'STORE_UNAVAILABLE' ? mapped : new AppError('INTERNAL', 'The database schema migration failed.', { cause: error });
  }
}

function unavailable(dialect: StoreDialect, where: string, cause: unknown): AppError {
  const code = (cause as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? ` (${code})` : '';
  const name = dialect === 'sqlite' ? 'the SQLite database' : 'PostgreSQL';
  return new AppError('STORE_UNAVAILABLE', `Could not open ${name} at ${where}${reason}.`, { cause, details: { dialect, database: where } });
}

/**
 * Every store method maps driver errors to AppError (CONFLICT, NOT_FOUND, STORE_UNAVAILABLE,
 * INTERNAL) on the way out, so callers never see a pg or sqlite error type.
 */
function guardErrors(store: SqlStore): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        try {
          return await method.apply(target, args);
        } catch (error) {
          throw toStoreError(error, property);
        }
      };
    },
  });
}
