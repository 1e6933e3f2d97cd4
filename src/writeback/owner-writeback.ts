/**
 * The write-back side of "an owner for every alert": when someone takes (or is given) an alert,
 * Defender's alert gets `assignedTo` = the owner and status `inProgress`, and a comment saying who
 * assigned it. The take handler calls `ownerChanged` after it has recorded the owner.
 */
import type { AlertWriteback } from '../domain/ports/alert-writeback.ts';
import { ownerComment } from './comments.ts';

export interface OwnerRef {
  name: string;
  /** What Defender shows as the owner (a UPN, as the portal sets it); the name when unknown. */
  userPrincipalName?: string;
}

export interface OwnerListener {
  ownerChanged(alert: { key: string }, owner: OwnerRef, by: { name: string }): Promise<void>;
}

export function createOwnerWriteback(deps: { writeback: AlertWriteback; now?: () => Date }): OwnerListener {
  const now = deps.now ?? (() => new Date());
  return {
    async ownerChanged(alert, owner, by) {
      const at = now();
      const assignedTo = (owner.userPrincipalName ?? owner.name).slice(0, 256);
      // One event per (alert, owner, moment): a re-assignment later is a new event, a retried call is not.
      await deps.writeback.record(alert.key, { eventId: `owner:${alert.key}:${assignedTo}:${at.toISOString()}`, comment: ownerComment(owner.name, by.name, at), update: { assignedTo, status: 'inProgress' } });
    },
  };
}
