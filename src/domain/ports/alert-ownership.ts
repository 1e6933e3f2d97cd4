/**
 * Who owns an alert, and who hears about it when that changes. The owner is stored with the alert
 * (AlertStore.takeAlert / reassignAlert, conditional writes); the listener is told after the store
 * has it, so a write-back (Defender's `assignedTo`) follows the owner without the ownership use
 * cases knowing about Graph.
 */

/** An alert's owner: a person identified by the authenticated Teams activity, never by card data. */
export interface AlertOwner {
  /** Entra object id, lower-case. */
  id: string;
  name: string;
  /** Teams user id (`29:…`), when known: what an @mention of the owner needs. */
  teamsId?: string;
  /** When this person became the owner. */
  since: Date;
}

export interface OwnerChange {
  alertKey: string;
  alertCode: string;
  /** The source the alert came from and its id there (Graph alert id, Sentinel SystemAlertId). */
  source: string;
  sourceId: string;
  owner: AlertOwner;
  /** The owner before a re-assignment or take-over; absent for a first take. */
  previous?: AlertOwner;
  /** Who made the change (the taker, or the lead who re-assigned). */
  by: { id: string; name: string };
  correlationId: string;
}

/** Called once per stored owner change; a failure is logged and never undoes the change. */
export interface AlertOwnershipListener {
  ownerChanged(change: OwnerChange): Promise<void>;
}

/** The default: nobody listens. */
export const NO_OWNERSHIP_LISTENER: AlertOwnershipListener = { ownerChanged: async () => {} };

/** An in-memory listener that remembers what it was told (tests). */
export function recordingOwnershipListener(): AlertOwnershipListener & { changes: OwnerChange[] } {
  const changes: OwnerChange[] = [];
  return {
    changes,
    async ownerChanged(change) {
      changes.push(change);
    },
  };
}
