/**
 * Leases over Kysely, timed by the database clock so that instances agree on expiry.
 * Part of the SqlStore (./sql-store.ts), which composes one of each per database.
 */
import { sql } from 'kysely';
import { iso } from './sql-values.ts';
import { SqlPart } from './sql-part.ts';

/** Named leases with a holder and a time to live. */
export class SqlLeases extends SqlPart {
  /** The database's clock (not this process's): what leases are compared with across instances. */
  async #databaseNow(): Promise<Date> {
    const query =
      this.dialect === 'postgres'
        ? sql<{ now: string }>`select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as now`
        : sql<{ now: string }>`select strftime('%Y-%m-%dT%H:%M:%fZ', 'now') as now`;
    const { rows } = await query.execute(this.db);
    return new Date(rows[0]!.now);
  }

  async tryAcquireLease(name: string, holder: string, ttlMs: number, at?: Date): Promise<boolean> {
    const now = at ?? (await this.#databaseNow());
    const expiresAt = iso(new Date(now.getTime() + ttlMs));
    // Insert if absent; otherwise overwrite only when the lease is ours or expired. A row comes
    // back only if this statement wrote it, which is what "acquired" means.
    const row = await this.db
      .insertInto('leases')
      .values({ name, holder, acquired_at: iso(now), expires_at: expiresAt })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({
            holder,
            expires_at: expiresAt,
            acquired_at: sql<string>`case when leases.holder = ${holder} then leases.acquired_at else ${iso(now)} end`,
          })
          .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<=', iso(now))])),
      )
      .returning('holder')
      .executeTakeFirst();
    return row !== undefined;
  }

  async renewLease(name: string, holder: string, ttlMs: number, at?: Date): Promise<boolean> {
    const now = at ?? (await this.#databaseNow());
    const result = await this.db
      .updateTable('leases')
      .set({ expires_at: iso(new Date(now.getTime() + ttlMs)) })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    const result = await this.db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async purgeExpiredLeases(prefix: string, at?: Date): Promise<number> {
    const now = at ?? (await this.#databaseNow());
    // A prefix match without LIKE's wildcards (a prefix may hold % or _): the name's first characters.
    const result = await this.db
      .deleteFrom('leases')
      .where(sql<string>`substr(name, 1, ${prefix.length})`, '=', prefix)
      .where('expires_at', '<=', iso(now))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
