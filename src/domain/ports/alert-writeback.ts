/**
 * The AlertWriteback port: how a use case (approvals, close, the owner listener) says "tell
 * Defender this about the alert". Implemented by src/writeback/record-writeback.ts, which only
 * enqueues into the store's outbox (the worker sends later): it never throws and never waits for
 * Graph, so a write-back can neither block nor undo what the bot did.
 */
import type { AlertUpdate } from './writeback-outbox.ts';

export interface WritebackEntry {
  /** Deterministic for the event (e.g. approval id + round + what happened): recording twice adds nothing. */
  eventId: string;
  /** A comment for the alert and, when it has one, its incident. */
  comment?: string;
  update?: AlertUpdate;
}

export interface AlertWriteback {
  /** DEFENDER_WRITEBACK=on: records become jobs; off: record() does nothing. */
  readonly enabled: boolean;
  record(alertKey: string, entry: WritebackEntry): Promise<void>;
}
