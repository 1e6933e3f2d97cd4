/**
 * The Store: everything the bot needs to resume after a restart, and every compare-and-set that
 * keeps several instances from doing the same thing twice, split by aggregate into the ports it is
 * made of. One implementation per database (src/store/sql-store.ts, opened by `openStore`); a use
 * case asks for the narrowest of these ports it needs, the composition root hands it the Store.
 * No in-memory fake: tests open the real SqlStore on a temporary SQLite file (or PostgreSQL), and
 * test/integration/store.contract.test.ts holds both databases to the same contract.
 */
import type { AlertStore } from './alert-store.ts';
import type { ApprovalStore } from './approval-store.ts';
import type { AuditLog } from './audit-log.ts';
import type { EscalationStore } from './escalation-store.ts';
import type { LeaseStore } from './lease-store.ts';
import type { SettingsStore } from './settings-store.ts';
import type { SubscriptionStore } from './subscription-store.ts';
import type { WritebackOutbox } from './writeback-outbox.ts';

/** The database itself: which one, readiness, shutdown. */
export interface StoreLifecycle {
  readonly dialect: 'sqlite' | 'postgres';
  /** Readiness: a trivial query; throws AppError STORE_UNAVAILABLE. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type Store = AlertStore & EscalationStore & ApprovalStore & LeaseStore & AuditLog & SubscriptionStore & SettingsStore & WritebackOutbox & StoreLifecycle;
