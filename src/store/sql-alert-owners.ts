/**
 * Alert owners over Kysely (issue 15): a take and a re-assign are each one conditional UPDATE, so
 * of two people taking the same alert at once exactly one becomes the owner, and a re-assign that
 * raced a take-over does not silently overwrite it. Part of the SqlStore (./sql-store.ts).
 */
import type { AlertOwner } from '../domain/ports/alert-ownership.ts';
import { iso } from './sql-values.ts';
import { SqlPart } from './sql-part.ts';

function ownerColumns(owner: AlertOwner) {
  return { owner_id: owner.id, owner_name: owner.name, owner_teams_id: owner.teamsId ?? null, owned_at: iso(owner.since) };
}

export class SqlAlertOwners extends SqlPart {
  async takeAlert(key: string, owner: AlertOwner): Promise<boolean> {
    const result = await this.db.updateTable('alerts').set(ownerColumns(owner)).where('key', '=', key).where('owner_id', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async reassignAlert(key: string, expectedOwnerId: string, owner: AlertOwner): Promise<boolean> {
    const result = await this.db.updateTable('alerts').set(ownerColumns(owner)).where('key', '=', key).where('owner_id', '=', expectedOwnerId).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
