/** Sliding-window bookkeeping of the outbound pacer: one entry per granted slot, aged out after release. */
import type { RateWindow } from './teams-rate-limits.ts';

export interface Entry {
  /** Release time; undefined while the request is in flight. */
  end: number | undefined;
}

/** Earliest time at which one more slot fits all windows over these entries (Infinity: wait for a release). */
export function windowsReadyAt(entries: Entry[], windows: readonly RateWindow[], now: number): number {
  let readyAt = now;
  for (const w of windows) {
    const counted = entries.filter((e) => e.end === undefined || e.end > now - w.windowMs);
    if (counted.length < w.limit) continue;
    // The oldest (count - limit + 1) must age out; in-flight ones age out only once released.
    const ends = counted.map((e) => e.end ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
    readyAt = Math.max(readyAt, ends[counted.length - w.limit]! + w.windowMs);
  }
  return readyAt;
}

/** Drops released entries older than the longest window. */
export function pruneEntries(entries: Entry[], longest: number, now: number): void {
  // Entries are appended in grant order; released old ones are dropped wherever they are.
  for (let i = entries.length - 1; i >= 0; i--) {
    const end = entries[i]!.end;
    if (end !== undefined && end <= now - longest) entries.splice(i, 1);
  }
}

export function removeEntry(entries: Entry[], entry: Entry): void {
  const index = entries.indexOf(entry);
  if (index >= 0) entries.splice(index, 1);
}
