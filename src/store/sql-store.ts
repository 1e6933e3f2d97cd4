/**
 * The Store over Kysely: one set of queries for SQLite and PostgreSQL. Every exactly-once
 * guarantee is a single conditional statement (UPDATE ... WHERE state = ... RETURNING, or
 * INSERT ... ON CONFLICT), so it holds across processes without application locks.
 *
 * One part per aggregate (sql-alerts, sql-alert-outbox, sql-approvals, sql-leases, sql-audit,
 * sql-subscriptions, sql-writeback); this class composes them into the one Store implementation per database.
 */
import { sql, type Kysely } from 'kysely';
import type { Store } from '../domain/ports/store.ts';
import type { StoreDialect } from './migrations.ts';
import type { Database } from './schema.ts';
import { SqlAlertOutbox } from './sql-alert-outbox.ts';
import { SqlAlerts } from './sql-alerts.ts';
import { SqlAlertOwners } from './sql-alert-owners.ts';
import { SqlEscalations } from './sql-escalations.ts';
import { SqlApprovals } from './sql-approvals.ts';
import { SqlAuditLog } from './sql-audit.ts';
import { SqlLeases } from './sql-leases.ts';
import { SqlSettings, SqlSubscriptions } from './sql-subscriptions.ts';
import { SqlWriteback } from './sql-writeback.ts';

type StoreParts = Omit<Store, 'dialect' | 'ping' | 'close'>;

// The parts' methods, merged onto SqlStore by the constructor (see `parts` below, which the
// compiler checks covers every Store method).
export interface SqlStore extends StoreParts {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- methods come from the parts
export class SqlStore implements Store {
  readonly dialect: StoreDialect;
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>, dialect: StoreDialect) {
    this.#db = db;
    this.dialect = dialect;
    const parts: StoreParts = {
      ...ownMethods(new SqlSubscriptions(db, dialect)),
      ...ownMethods(new SqlSettings(db, dialect)),
      ...ownMethods(new SqlAlerts(db, dialect)),
      ...ownMethods(new SqlAlertOutbox(db, dialect)),
      ...ownMethods(new SqlAlertOwners(db, dialect)),
      ...ownMethods(new SqlEscalations(db, dialect)),
      ...ownMethods(new SqlLeases(db, dialect)),
      ...ownMethods(new SqlApprovals(db, dialect)),
      ...ownMethods(new SqlAuditLog(db, dialect)),
      ...ownMethods(new SqlWriteback(db, dialect)),
    };
    Object.assign(this, parts);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db);
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }
}

/** A part's public methods as own properties bound to it (class methods live on the prototype). */
function ownMethods<T extends object>(part: T): { [K in keyof T]: T[K] } {
  const methods: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(part) as object)) {
    const value: unknown = (part as Record<string, unknown>)[name];
    if (name !== 'constructor' && typeof value === 'function') methods[name] = (value as (...args: unknown[]) => unknown).bind(part);
  }
  return methods as { [K in keyof T]: T[K] };
}
