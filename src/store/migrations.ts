/**
 * Versioned schema migrations, in code, one list for both dialects (Kysely Migrator). Names sort
 * in order; never edit a migration that has shipped, add a new one. Where the dialects truly
 * differ (the audit sequence and the append-only triggers) the migration branches explicitly.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';
import { APPROVAL_STATES } from '../domain/ports/approval-store.ts';
import { POST_STATES } from '../domain/ports/alert-store.ts';
import { accountKeysOfAlert, accountKeyFromIdentifier } from '../domain/account-key.ts';
import type { Alert } from '../domain/alert.ts';
import { ownersAndEscalations } from './migration-0006-owners-and-escalations.ts';
import { writebackOutbox } from './migration-0007-writeback-outbox.ts';

export type StoreDialect = 'sqlite' | 'postgres';

function inList(values: readonly string[]) {
  return sql.join(values.map((value) => sql.lit(value)));
}

// Migrations must not depend on today's schema type: they describe the schema as it was then.
type AnyDb = Kysely<unknown>;

function initialSchema(dialect: StoreDialect): Migration {
  // Timestamps are fixed-width ISO-8601 text compared with < and >=: on PostgreSQL pin a bytewise
  // collation so a linguistic database default (en_US...) cannot reorder them. SQLite is bytewise.
  const time = dialect === 'postgres' ? sql`text collate "C"` : 'text';
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('subscriptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('conversation_reference', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('alerts')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('code', 'text', (c) => c.notNull().unique())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('alert_json', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('first_seen_at', time, (c) => c.notNull())
        .addColumn('changed_at', time, (c) => c.notNull())
        .addColumn('post_state', 'text', (c) => c.notNull().defaultTo('pending'))
        .addColumn('post_claimed_by', 'text')
        .addColumn('post_claimed_at', time)
        .addColumn('conversation_id', 'text')
        .addColumn('activity_id', 'text')
        .addColumn('thread_conversation_id', 'text')
        .addColumn('posted_at', time)
        .addColumn('update_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('update_applied', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('update_claimed_by', 'text')
        .addColumn('update_claimed_at', time)
        .addCheckConstraint('alerts_post_state_check', sql`post_state in (${inList(POST_STATES)})`)
        .execute();
      await db.schema.createIndex('alerts_post_state_idx').on('alerts').columns(['post_state', 'first_seen_at']).execute();
      await db.schema.createIndex('alerts_status_idx').on('alerts').columns(['status', 'first_seen_at']).execute();

      await db.schema
        .createTable('alert_accounts')
        .addColumn('alert_key', 'text', (c) => c.notNull().references('alerts.key').onDelete('cascade'))
        .addColumn('account_key', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('alert_accounts_pk', ['alert_key', 'account_key'])
        .execute();
      await db.schema.createIndex('alert_accounts_account_idx').on('alert_accounts').column('account_key').execute();

      await db.schema
        .createTable('watermarks')
        .addColumn('source', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('acquired_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('alert_key', 'text', (c) => c.references('alerts.key'))
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_json', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull().unique())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('required_approvals', 'integer', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('requested_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('reason', 'text')
        .addColumn('result_json', 'text')
        .addColumn('error_code', 'text')
        .addColumn('started_at', time)
        .addColumn('finished_at', time)
        .addColumn('card_conversation_id', 'text')
        .addColumn('card_activity_id', 'text')
        .addCheckConstraint('approvals_state_check', sql`state in (${inList(APPROVAL_STATES)})`)
        .addCheckConstraint('approvals_required_check', sql`required_approvals >= 1`)
        .execute();
      await db.schema.createIndex('approvals_state_idx').on('approvals').column('state').execute();
      await db.schema.createIndex('approvals_alert_idx').on('approvals').column('alert_key').execute();
      await db.schema.createIndex('approvals_started_idx').on('approvals').column('started_at').execute();

      await db.schema
        .createTable('approval_votes')
        .addColumn('approval_id', 'text', (c) => c.notNull().references('approvals.id').onDelete('cascade'))
        .addColumn('approver_id', 'text', (c) => c.notNull())
        .addColumn('approver_name', 'text', (c) => c.notNull())
        .addColumn('voted_at', time, (c) => c.notNull())
        // One vote per person per approval: the database, not the caller, enforces it.
        .addPrimaryKeyConstraint('approval_votes_pk', ['approval_id', 'approver_id'])
        .execute();

      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .execute();

      await db.schema
        .createTable('audit')
        .addColumn('seq', dialect === 'postgres' ? 'bigint' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('at', time, (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('account_key', 'text')
        .addColumn('alert_key', 'text')
        .addColumn('approval_id', 'text')
        .addColumn('correlation_id', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('code', 'text')
        .addColumn('details_json', 'text')
        .execute();
      await db.schema.createIndex('audit_account_idx').on('audit').column('account_key').execute();
      await db.schema.createIndex('audit_alert_idx').on('audit').column('alert_key').execute();
      await db.schema.createIndex('audit_approval_idx').on('audit').column('approval_id').execute();

      // Append-only audit, enforced by the database so no code path (or operator typo) can rewrite it.
      if (dialect === 'postgres') {
        await sql`
          create function audit_append_only() returns trigger language plpgsql as $$
          begin
            raise exception 'audit is append-only' using errcode = 'insufficient_privilege';
          end
          $$`.execute(db);
        await sql`create trigger audit_no_update_delete before update or delete on audit
          for each row execute function audit_append_only()`.execute(db);
        await sql`create trigger audit_no_truncate before truncate on audit
          for each statement execute function audit_append_only()`.execute(db);
      } else {
        await sql`create trigger audit_no_update before update on audit
          begin select raise(abort, 'audit is append-only'); end`.execute(db);
        await sql`create trigger audit_no_delete before delete on audit
          begin select raise(abort, 'audit is append-only'); end`.execute(db);
      }
    },
  };
}

/**
 * Rounds: a retry after a failure, or a re-request, opens a new round of votes that needs the full
 * count again; votes are one per person per round. Card offers: what a lookup card offered, where
 * it lives, so a click on it is checked against what the bot itself showed.
 */
function approvalRoundsAndCardOffers(dialect: StoreDialect): Migration {
  const time = dialect === 'postgres' ? sql`text collate "C"` : 'text';
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('approvals').addColumn('round', 'integer', (c) => c.notNull().defaultTo(1)).execute();
      await db.schema
        .createTable('approval_votes_v2')
        .addColumn('approval_id', 'text', (c) => c.notNull().references('approvals.id').onDelete('cascade'))
        .addColumn('round', 'integer', (c) => c.notNull())
        .addColumn('approver_id', 'text', (c) => c.notNull())
        .addColumn('approver_name', 'text', (c) => c.notNull())
        .addColumn('voted_at', time, (c) => c.notNull())
        // One vote per person per round: the database, not the caller, enforces it.
        .addPrimaryKeyConstraint('approval_votes_round_pk', ['approval_id', 'round', 'approver_id'])
        .execute();
      await sql`insert into approval_votes_v2 (approval_id, round, approver_id, approver_name, voted_at)
        select approval_id, 1, approver_id, approver_name, voted_at from approval_votes`.execute(db);
      await db.schema.dropTable('approval_votes').execute();
      await db.schema.alterTable('approval_votes_v2').renameTo('approval_votes').execute();

      await db.schema
        .createTable('card_offers')
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('activity_id', 'text', (c) => c.notNull())
        .addColumn('target_key', 'text', (c) => c.notNull())
        .addColumn('actions_json', 'text', (c) => c.notNull())
        .addColumn('offered_to', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addPrimaryKeyConstraint('card_offers_pk', ['conversation_id', 'activity_id'])
        .execute();
    },
  };
}

/**
 * One account-key format: the index of alerts by account held unprefixed keys (`corp\\jdoe`,
 * `s-1-…`); it now holds the domain's (`sam:corp\\jdoe`, `sid:s-1-…`, see
 * src/domain/account-key.ts), as card data, approvals and the audit always did. Rebuilt from each
 * stored alert, in batches; an alert whose JSON cannot be read keeps its keys, rewritten by form.
 * Safe to run again (each alert's keys are replaced, not added).
 */
function unifiedAccountKeys(): Migration {
  const BATCH = 500;
  return {
    async up(db: AnyDb) {
      let after = '';
      for (;;) {
        const { rows } = await sql<{ key: string; alert_json: string }>`select key, alert_json from alerts where key > ${after} order by key limit ${BATCH}`.execute(db);
        for (const row of rows) {
          const keys = rebuiltKeys(row.alert_json) ?? (await legacyKeys(db, row.key));
          await sql`delete from alert_accounts where alert_key = ${row.key}`.execute(db);
          if (keys.length > 0) {
            await sql`insert into alert_accounts (alert_key, account_key) values ${sql.join(keys.map((key) => sql`(${row.key}, ${key})`))}`.execute(db);
          }
        }
        if (rows.length < BATCH) break;
        after = rows[rows.length - 1]!.key;
      }
    },
  };
}

function rebuiltKeys(alertJson: string): string[] | undefined {
  try {
    const alert = JSON.parse(alertJson) as Alert;
    return Array.isArray(alert?.accounts) ? accountKeysOfAlert(alert) : undefined;
  } catch {
    return undefined; // unreadable: fall back to rewriting the keys it has
  }
}

async function legacyKeys(db: AnyDb, alertKey: string): Promise<string[]> {
  const { rows } = await sql<{ account_key: string }>`select account_key from alert_accounts where alert_key = ${alertKey}`.execute(db);
  return [...new Set(rows.map((row) => accountKeyFromIdentifier(row.account_key)).filter((key): key is string => key !== undefined))];
}

export function createMigrationProvider(dialect: StoreDialect): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return {
        '0001_initial_schema': initialSchema(dialect),
        '0002_approval_rounds_and_card_offers': approvalRoundsAndCardOffers(dialect),
        '0003_unified_account_keys': unifiedAccountKeys(),
        '0006_owners_and_escalations': ownersAndEscalations(dialect),
        '0007_writeback_outbox': writebackOutbox(dialect),
      };
    },
  };
}
