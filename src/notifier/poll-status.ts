import type { SettingsStore } from '../domain/ports/settings-store.ts';
import type { AlertSourceStatus } from '../domain/ports/status-probe.ts';

/**
 * The last poll of each alert source, kept in the store (not in memory) so that `status` answers
 * the same on every instance, whichever holds the poller lease.
 */
const KEY_PREFIX = 'poll-status:';

interface StoredPollStatus {
  lastPollAt: string;
  lastSuccessAt?: string;
  lastError?: string;
}

export async function recordPoll(store: SettingsStore, source: string, at: Date, error?: string): Promise<void> {
  const previous = await readStatus(store, source);
  const next: StoredPollStatus = error
    ? { lastPollAt: at.toISOString(), lastSuccessAt: previous?.lastSuccessAt, lastError: error }
    : { lastPollAt: at.toISOString(), lastSuccessAt: at.toISOString() };
  await store.setSetting(`${KEY_PREFIX}${source}`, JSON.stringify(next), { updatedBy: 'notifier', now: at });
}

async function readStatus(store: SettingsStore, source: string): Promise<StoredPollStatus | undefined> {
  const raw = await store.getSetting(`${KEY_PREFIX}${source}`);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as StoredPollStatus;
  } catch {
    return undefined;
  }
}

/** Status of the configured sources for the `status` command. */
export async function sourceStatuses(store: SettingsStore, configured: readonly string[]): Promise<AlertSourceStatus[]> {
  return Promise.all(
    configured.map(async (name): Promise<AlertSourceStatus> => {
      const status = await readStatus(store, name);
      if (!status) return { name, health: 'unknown' };
      return {
        name,
        health: status.lastError ? 'failing' : 'ok',
        lastPollAt: new Date(status.lastPollAt),
        ...(status.lastSuccessAt ? { lastSuccessAt: new Date(status.lastSuccessAt) } : {}),
        ...(status.lastError ? { lastError: status.lastError } : {}),
      };
    }),
  );
}
