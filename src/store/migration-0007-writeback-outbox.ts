/**
 * Migration 0007: the Defender write-back outbox (`writeback_jobs`) and the alerts closed from the
 * card (`alert_closures`). Same DDL on both databases; timestamps are fixed-width ISO text (on
 * PostgreSQL with a bytewise collation, as in 0001). Safe to run again (if not exists), so a database
 * rolled back to an earlier migration can be migrated forward.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { StoreDialect } from './migrations.ts';

const STATES = ['pending', 'sending', 'sent', 'failed'];
const KINDS = ['alert-comment', 'incident-comment', 'alert-update'];

function inList(values: readonly string[]) {
  return sql.join(values.map((value) => sql.lit(value)));
}

export function writebackOutbox(dialect: StoreDialect): Migration {
  const time = dialect === 'postgres' ? sql`text collate "C"` : 'text';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('writeback_jobs')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('alert_key', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('payload_json', 'text', (c) => c.notNull())
        // created_at + ordinal within one enqueue: the order jobs of one alert are sent in.
        .addColumn('order_key', time, (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending'))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', time, (c) => c.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('claim_expires_at', time)
        .addColumn('last_error_code', 'text')
        .addColumn('last_error_at', time)
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addCheckConstraint('writeback_jobs_state_check', sql`state in (${inList(STATES)})`)
        .addCheckConstraint('writeback_jobs_kind_check', sql`kind in (${inList(KINDS)})`)
        .execute();
      await db.schema.createIndex('writeback_jobs_due_idx').ifNotExists().on('writeback_jobs').columns(['state', 'next_attempt_at']).execute();
      await db.schema.createIndex('writeback_jobs_alert_idx').ifNotExists().on('writeback_jobs').columns(['alert_key', 'order_key']).execute();

      await db.schema
        .createTable('alert_closures')
        .ifNotExists()
        .addColumn('alert_key', 'text', (c) => c.primaryKey())
        .addColumn('classification', 'text', (c) => c.notNull())
        .addColumn('determination', 'text', (c) => c.notNull())
        .addColumn('closed_by', 'text', (c) => c.notNull())
        .addColumn('closed_by_name', 'text', (c) => c.notNull())
        .addColumn('closed_at', time, (c) => c.notNull())
        .execute();
    },
  };
}
