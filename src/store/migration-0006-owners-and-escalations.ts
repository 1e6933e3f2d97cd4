/**
 * Migration 0006 (issue 15): an owner for every alert, and the durable escalation schedule.
 *
 * - `alerts` gains the owner (Entra object id, name, Teams id, since): set by a conditional
 *   update (`where owner_id is null` for a take, `where owner_id = <expected>` for a re-assign), so
 *   two people taking at once produce one owner.
 * - `alert_escalations`: one row per alert, the next step and when it is due, who has claimed it
 *   (a claim lease: a crashed instance's claim goes stale and is taken over), and what was done
 *   (reminded, paged where, page resolved), so a restart or a second instance neither loses nor
 *   repeats a reminder or a page.
 * - `approval_expiry_reminders`: one row per approval (and round) whose approvers were reminded
 *   before it expires; the insert is the once-only claim.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { StoreDialect } from './migrations.ts';

const STEPS = ['remind', 'page', 'resolve', 'done'] as const;

export function ownersAndEscalations(dialect: StoreDialect): Migration {
  const time = dialect === 'postgres' ? sql`text collate "C"` : 'text';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('alerts').addColumn('owner_id', 'text').execute();
      await db.schema.alterTable('alerts').addColumn('owner_name', 'text').execute();
      await db.schema.alterTable('alerts').addColumn('owner_teams_id', 'text').execute();
      await db.schema.alterTable('alerts').addColumn('owned_at', time).execute();

      await db.schema
        .createTable('alert_escalations')
        .addColumn('alert_key', 'text', (c) => c.primaryKey().references('alerts.key').onDelete('cascade'))
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('due_at', time, (c) => c.notNull())
        .addColumn('reminded_at', time)
        .addColumn('paged_at', time)
        .addColumn('paged_via', 'text')
        .addColumn('page_resolved_at', time)
        .addColumn('stopped_at', time)
        .addColumn('stop_reason', 'text')
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_at', time)
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addCheckConstraint('alert_escalations_step_check', sql`step in (${sql.join(STEPS.map((s) => sql.lit(s)))})`)
        .execute();
      await db.schema
        .createTable('approval_expiry_reminders')
        .addColumn('approval_id', 'text', (c) => c.notNull())
        .addColumn('round', 'integer', (c) => c.notNull())
        .addColumn('reminded_at', time, (c) => c.notNull())
        .addPrimaryKeyConstraint('approval_expiry_reminders_pk', ['approval_id', 'round'])
        .execute();
      await db.schema.createIndex('alert_escalations_due_idx').on('alert_escalations').columns(['step', 'due_at']).execute();
    },
  };
}
