/**
 * The write-back side of "an owner for every alert": when someone takes (or is given) an alert,
 * Defender's alert gets `assignedTo` = the owner and status `inProgress`, and a comment saying who
 * assigned it. The ownership use cases tell it after they have recorded the owner (ownershipWriteback).
 */
import type { AlertWriteback } from '../domain/ports/alert-writeback.ts';
import type { AlertOwnershipListener } from '../domain/ports/alert-ownership.ts';
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

/**
 * The ownership use cases' listener (src/domain/ports/alert-ownership.ts) feeding the owner
 * write-back. Teams tells the bot the owner's Entra object id and name, not a UPN: Defender shows
 * `assignedTo` as the portal sets it (a UPN), so the UPN is looked up in Entra when a lookup is
 * configured; without one, or when the lookup fails, the name is written.
 */
export function ownershipWriteback(owner: OwnerListener, upnOf?: (entraObjectId: string) => Promise<string | undefined>): AlertOwnershipListener {
  return {
    async ownerChanged(change) {
      const userPrincipalName = upnOf ? await upnOf(change.owner.id).catch(() => undefined) : undefined;
      await owner.ownerChanged({ key: change.alertKey }, { name: change.owner.name, ...(userPrincipalName ? { userPrincipalName } : {}) }, { name: change.by.name });
    },
  };
}

/** Tells every listener, in turn; one failing does not keep the others from hearing. */
export function allOwnershipListeners(listeners: AlertOwnershipListener[]): AlertOwnershipListener {
  return {
    async ownerChanged(change) {
      const results = await Promise.allSettled(listeners.map((listener) => listener.ownerChanged(change)));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
