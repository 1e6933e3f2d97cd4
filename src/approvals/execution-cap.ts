import { AppError } from '../domain/errors.ts';
import type { SettingsStore } from '../domain/ports/settings-store.ts';

/**
 * The hourly cap on destructive actions, shared by every bot instance through the store. Each
 * execution takes a slot (a timestamp) with a compare-and-set on one setting, so two instances can
 * never both take the last slot. Reaching the cap sets the pause flag; only an approver lifts it
 * (`resume`), which also empties the window: otherwise the next action would pause again at once.
 */
const SLOTS_KEY = 'approvals.execution-slots';
const PAUSE_KEY = 'approvals.paused';
const HOUR_MS = 3_600_000;
const MAX_CAS_ATTEMPTS = 100;

export type SlotOutcome = { kind: 'taken'; slot: string } | { kind: 'paused' } | { kind: 'cap-reached' };

export interface PauseState {
  by: string;
  at: string;
  reason: string;
}

export interface ExecutionCap {
  pausedState(): Promise<PauseState | undefined>;
  take(now: Date): Promise<SlotOutcome>;
  /** Gives a slot back (the execution it was taken for did not start). */
  release(slot: string): Promise<void>;
  pause(by: string, reason: string, now: Date): Promise<void>;
  /** Lifts the pause and empties the window; false when it was not paused. */
  resume(by: string, now: Date): Promise<boolean>;
}

function parseSlots(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed.filter((slot): slot is string => typeof slot === 'string') : [];
  } catch {
    return [];
  }
}

export function createExecutionCap(store: SettingsStore, maxPerHour: number): ExecutionCap {
  async function pausedState(): Promise<PauseState | undefined> {
    const value = await store.getSetting(PAUSE_KEY);
    if (!value) return undefined;
    try {
      return JSON.parse(value) as PauseState;
    } catch {
      return { by: 'unknown', at: '', reason: 'paused' };
    }
  }

  async function casSlots(change: (slots: string[]) => string[] | 'stop'): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await store.getSetting(SLOTS_KEY);
      const next = change(parseSlots(current));
      if (next === 'stop') return false;
      if (await store.setSetting(SLOTS_KEY, JSON.stringify(next), { expected: current ?? null })) return true;
    }
    throw new AppError('CONFLICT', 'Too many executions competed for the hourly cap at once; try again.');
  }

  async function pause(by: string, reason: string, now: Date): Promise<void> {
    await store.setSetting(PAUSE_KEY, JSON.stringify({ by, at: now.toISOString(), reason } satisfies PauseState), { updatedBy: by, now });
  }

  return {
    pausedState,
    pause,
    async take(now) {
      if (await pausedState()) return { kind: 'paused' };
      const slot = `${now.toISOString()}#${Math.random().toString(36).slice(2, 8)}`;
      const since = now.getTime() - HOUR_MS;
      const taken = await casSlots((slots) => {
        const recent = slots.filter((s) => Date.parse(s.split('#')[0] ?? '') > since);
        return recent.length >= maxPerHour ? 'stop' : [...recent, slot];
      });
      if (taken) return { kind: 'taken', slot };
      await pause('system', `more than ${maxPerHour} destructive actions in an hour`, now);
      return { kind: 'cap-reached' };
    },
    async release(slot) {
      await casSlots((slots) => (slots.includes(slot) ? slots.filter((s) => s !== slot) : 'stop'));
    },
    async resume(by, now) {
      const wasPaused = (await pausedState()) !== undefined;
      await store.setSetting(SLOTS_KEY, '[]', { updatedBy: by, now });
      await store.setSetting(PAUSE_KEY, '', { updatedBy: by, now });
      return wasPaused;
    },
  };
}
