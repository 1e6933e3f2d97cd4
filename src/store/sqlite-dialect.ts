/**
 * Kysely dialect for Node's built-in `node:sqlite` (DatabaseSync): no native addon to build.
 *
 * Two departures from Kysely's stock SqliteDialect, both for several processes sharing one file:
 * - transactions start with BEGIN IMMEDIATE, so a transaction that reads then writes takes the
 *   write lock up front instead of failing with SQLITE_BUSY on upgrade;
 * - "database is locked" is retried asynchronously. A synchronous busy_timeout blocks the event
 *   loop, and if the lock holder is in this same process (two stores in one test, or a
 *   transaction waiting on an await) it cannot finish while we block: a deadlock until timeout.
 *   So busy_timeout stays short and the long wait happens here, yielding between attempts.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type QueryResult,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
/** Synchronous wait inside SQLite before it reports busy: short, see above. */
const BUSY_TIMEOUT_MS = 25;
const BUSY_RETRY_TOTAL_MS = 10_000;
const STATEMENT_CACHE_SIZE = 100;

export function isSqliteBusy(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  // Extended codes carry the primary code in the low byte (SQLITE_BUSY_SNAPSHOT = 517...).
  return typeof errcode === 'number' && ((errcode & 0xff) === SQLITE_BUSY || (errcode & 0xff) === SQLITE_LOCKED);
}

/** Adapts DatabaseSync to the better-sqlite3 shaped interface Kysely's driver expects. */
class NodeSqliteDatabase implements SqliteDatabase {
  readonly #db: DatabaseSync;
  // Prepared statements are reused: the query set is small and fixed.
  readonly #cache = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  close(): void {
    this.#cache.clear();
    if (this.#db.isOpen) this.#db.close();
  }

  prepare(sqlText: string): SqliteStatement {
    let statement = this.#cache.get(sqlText);
    if (statement === undefined) {
      statement = this.#db.prepare(sqlText);
      if (this.#cache.size >= STATEMENT_CACHE_SIZE) {
        const [oldest] = this.#cache.keys();
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
      this.#cache.set(sqlText, statement);
    }
    const stmt = statement;
    return {
      reader: stmt.columns().length > 0,
      all: (parameters) => stmt.all(...(parameters as SqlValue[])),
      run: (parameters) => stmt.run(...(parameters as SqlValue[])),
      iterate: (parameters) => stmt.iterate(...(parameters as SqlValue[])),
    };
  }
}

type SqlValue = null | number | bigint | string | NodeJS.ArrayBufferView;

/** A connection that retries busy errors without blocking the event loop. */
class RetryingConnection implements DatabaseConnection {
  readonly #inner: DatabaseConnection;
  constructor(inner: DatabaseConnection) {
    this.#inner = inner;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const deadline = Date.now() + BUSY_RETRY_TOTAL_MS;
    let delay = 2;
    for (;;) {
      try {
        return await this.#inner.executeQuery<R>(compiledQuery);
      } catch (error) {
        // Retrying is safe: a statement that reports busy did nothing. Inside a BEGIN IMMEDIATE
        // transaction we hold the write lock and WAL readers never block, so busy only happens on
        // autocommit statements and on BEGIN itself.
        if (!isSqliteBusy(error) || Date.now() >= deadline) throw error;
        await sleep(delay + Math.random() * delay);
        delay = Math.min(delay * 2, 100);
      }
    }
  }

  streamQuery<R>(compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    return this.#inner.streamQuery<R>(compiledQuery, chunkSize);
  }
}

class NodeSqliteDriver extends SqliteDriver implements Driver {
  readonly #connections = new WeakMap<DatabaseConnection, RetryingConnection>();

  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection();
    let wrapped = this.#connections.get(inner);
    if (wrapped === undefined) {
      wrapped = new RetryingConnection(inner);
      this.#connections.set(inner, wrapped);
    }
    return wrapped;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** SQLite does run DDL inside transactions; saying so makes the Migrator wrap each run in one. */
class NodeSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

export function openSqliteDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
  // WAL: readers do not block the writer nor each other, which is what several instances need.
  // synchronous=full: a committed claim or approval transition must survive a power cut, or an
  // action could run twice after restart.
  if (path !== ':memory:') db.exec('pragma journal_mode = wal');
  db.exec(`pragma busy_timeout = ${BUSY_TIMEOUT_MS}; pragma foreign_keys = on; pragma synchronous = full`);
  return db;
}

export class NodeSqliteDialect extends SqliteDialect {
  readonly #database: DatabaseSync;
  readonly #adapted: NodeSqliteDatabase;

  constructor(database: DatabaseSync) {
    const adapted = new NodeSqliteDatabase(database);
    super({ database: adapted });
    this.#database = database;
    this.#adapted = adapted;
  }

  override createDriver(): Driver {
    return new NodeSqliteDriver({ database: this.#adapted });
  }

  override createAdapter(): DialectAdapter {
    return new NodeSqliteAdapter();
  }

  get database(): DatabaseSync {
    return this.#database;
  }
}
