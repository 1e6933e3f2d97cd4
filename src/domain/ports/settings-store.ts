/**
 * The SettingsStore port: a small key/value table (the pause flag, the execution cap's counters...).
 * Part of `Store` (./store.ts), implemented by the SqlStore in src/store/.
 */
export interface SettingsStore {
  getSetting(key: string): Promise<string | undefined>;
  /**
   * Without `expected`: unconditional set. With `expected: null`: only if the key is absent.
   * With a string: only if the current value equals it. True when the write happened.
   */
  setSetting(key: string, value: string, options?: { expected?: string | null; updatedBy?: string; now?: Date }): Promise<boolean>;
}
