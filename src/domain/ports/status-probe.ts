export type SourceHealth = 'ok' | 'failing' | 'disabled' | 'unknown';

export interface AlertSourceStatus {
  /** graph, sentinel... */
  name: string;
  health: SourceHealth;
  lastPollAt?: Date;
  lastSuccessAt?: Date;
  /** One sentence, no secrets. */
  lastError?: string;
}

/** Alert-source health from the notifier (last poll, last error). */
export interface StatusProbe {
  alertSources(): Promise<AlertSourceStatus[]>;
  /** Actions paused (kill switch) or not; undefined when the bot has no such switch. */
  paused?(): Promise<boolean>;
}
