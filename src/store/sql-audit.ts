/**
 * The audit log over Kysely: append-only (the database refuses updates and deletes).
 * Part of the SqlStore (./sql-store.ts), which composes one of each per database.
 */
import { normalizeAccountKey } from '../domain/account-key.ts';
import type { AuditEntry, AuditQuery, AuditRecord } from '../domain/ports/audit-log.ts';
import { iso } from './sql-values.ts';
import { toAuditRecord } from './sql-rows.ts';
import { SqlPart } from './sql-part.ts';

/** Append and query audit entries. */
export class SqlAuditLog extends SqlPart {
  async appendAudit(entry: AuditEntry): Promise<number> {
    const row = await this.db
      .insertInto('audit')
      .values({
        at: iso(entry.at),
        actor: entry.actor ?? null,
        action: entry.action,
        target: entry.target ?? null,
        account_key: entry.accountKey === undefined ? null : normalizeAccountKey(entry.accountKey),
        alert_key: entry.alertKey ?? null,
        approval_id: entry.approvalId ?? null,
        correlation_id: entry.correlationId ?? null,
        outcome: entry.outcome,
        code: entry.code ?? null,
        details_json: entry.details === undefined ? null : JSON.stringify(entry.details),
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    return Number(row.seq); // bigint identity comes back as a string from pg
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    let select = this.db.selectFrom('audit').selectAll();
    if (query.accountKey !== undefined) {
      const accountKey = normalizeAccountKey(query.accountKey);
      select = select.where((eb) =>
        eb.or([
          eb('account_key', '=', accountKey),
          eb('alert_key', 'in', eb.selectFrom('alert_accounts').select('alert_key').where('account_key', '=', accountKey)),
        ]),
      );
    }
    if (query.alertKey !== undefined) select = select.where('alert_key', '=', query.alertKey);
    if (query.approvalId !== undefined) select = select.where('approval_id', '=', query.approvalId);
    const rows = await select.orderBy('seq', 'desc').limit(query.limit).execute();
    return rows.map(toAuditRecord);
  }
}
