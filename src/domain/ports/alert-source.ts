import type { Alert, AlertSourceName } from '../alert.ts';

/**
 * Something the batch could not deliver whole: a record that was skipped (it had no id), a record
 * mapped with fields dropped, or a query the service answered only in part. The notifier logs
 * each; none of them stops the batch.
 */
export interface AlertSourceProblem {
  /** Id of the record within its source, when the record had one. */
  sourceId?: string;
  message: string;
}

export interface AlertBatch {
  /** Mapped alerts, oldest change first when the source can tell. */
  alerts: Alert[];
  /**
   * The newest change time seen, for the caller to store AFTER it has stored `alerts`, and to pass
   * back as `since` on the next call. Undefined when nothing was seen (keep the old watermark).
   */
  watermark: Date | undefined;
  problems: AlertSourceProblem[];
  /** True when the source says (or we know) that records may be missing from this batch. */
  partial: boolean;
  /**
   * True when the source read only part of what changed (a window narrowed to fit its page
   * limit), completely up to `watermark`: the caller should call again at once to read on.
   */
  more?: boolean;
}

/**
 * The port the notifier polls. A call is idempotent: it re-reads an overlap window before `since`
 * so changes written late are not lost, which means the same alert may come back in consecutive
 * batches; de-duplication by alert key is the store's job. Failures of the whole call are
 * AppErrors (UPSTREAM_THROTTLED, UPSTREAM_FORBIDDEN, UPSTREAM_ERROR, TIMEOUT, CONFIG_INVALID).
 */
export interface AlertSource {
  readonly name: AlertSourceName;
  fetchChanged(since: Date | undefined, signal?: AbortSignal): Promise<AlertBatch>;
  /**
   * One alert read from the source by its id (a pushed notification names it; what the push says
   * about the alert is never used). `found: false` when the source has no such MDI alert (the
   * reason says what was looked for). Failures of the call are AppErrors as for fetchChanged.
   */
  fetchById(sourceId: string, signal?: AbortSignal): Promise<AlertLookup>;
}

export type AlertLookup = { found: true; alert: Alert; problems: AlertSourceProblem[] } | { found: false; reason: string };
