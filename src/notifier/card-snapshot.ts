import { accountKeys, accountKeyFromIdentifier } from '../domain/account-key.ts';
import type { Alert, AlertStatus, Severity } from '../domain/alert.ts';
import { severityRank } from '../domain/alert.ts';

/**
 * What a posted card showed, in the few facts an analyst notices when they change. Kept in the
 * audit entry written when a card is posted or updated, so the next update can say in the thread
 * what changed ("Severity raised: medium → high") even after a restart.
 */
export interface CardSnapshot {
  severity: Severity;
  status: AlertStatus;
  title: string;
  /** Normalized keys of each account on the card, one list per account. */
  accounts: string[][];
  devices: string[];
  techniques: string[];
}

export function snapshotOf(alert: Alert): CardSnapshot {
  return {
    severity: alert.severity,
    status: alert.status,
    title: alert.title,
    accounts: alert.accounts.map(accountKeys).filter((keys) => keys.length > 0),
    devices: alert.devices.map((d) => (d.hostName ?? d.ipAddress ?? d.entraDeviceId ?? '').toLowerCase()).filter(Boolean),
    techniques: alert.mitreTechniques.map((t) => t.toUpperCase()),
  };
}

/** Reads a snapshot back from audit details; undefined when absent or not of this shape. */
export function parseSnapshot(value: unknown): CardSnapshot | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const s = value as Partial<CardSnapshot>;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (typeof s.severity !== 'string' || typeof s.status !== 'string' || typeof s.title !== 'string') return undefined;
  if (!Array.isArray(s.accounts) || !s.accounts.every(strings) || !strings(s.devices) || !strings(s.techniques)) return undefined;
  // Snapshots written before the account keys were unified hold unprefixed keys: read them in today's form.
  const accounts = s.accounts.map((keys) => keys.map((key) => accountKeyFromIdentifier(key) ?? key));
  return { ...(s as CardSnapshot), accounts };
}

const STATUS_WORDS: Record<AlertStatus, string> = { new: 'new', inProgress: 'in progress', resolved: 'resolved', unknown: 'unknown' };

/**
 * The short thread line for a card update: each visible change, in the order an analyst cares
 * (status, severity, new people, new devices, new techniques, reworded). Empty when nothing an
 * analyst would notice changed (e.g. only account roles or ids filled in by a richer source).
 */
export function describeChanges(before: CardSnapshot, after: CardSnapshot): string[] {
  const changes: string[] = [];
  if (before.status !== after.status) changes.push(`Status: ${STATUS_WORDS[before.status] ?? before.status} → ${STATUS_WORDS[after.status] ?? after.status}`);
  if (before.severity !== after.severity) {
    const raised = severityRank(after.severity) > severityRank(before.severity);
    changes.push(`Severity ${raised ? 'raised' : 'lowered'}: ${before.severity} → ${after.severity}`);
  }
  const knownKeys = new Set(before.accounts.flat());
  const newAccounts = after.accounts.filter((keys) => !keys.some((key) => knownKeys.has(key))).length;
  const knownDevices = new Set(before.devices);
  const newDevices = new Set(after.devices.filter((d) => !knownDevices.has(d))).size;
  const evidence = [plural(newAccounts, 'account'), plural(newDevices, 'device')].filter(Boolean);
  if (evidence.length > 0) changes.push(`New evidence: ${evidence.join(', ')}`);
  const knownTechniques = new Set(before.techniques);
  const newTechniques = after.techniques.filter((t) => !knownTechniques.has(t));
  if (newTechniques.length > 0) changes.push(`New MITRE technique${newTechniques.length === 1 ? '' : 's'}: ${newTechniques.slice(0, 5).join(', ')}`);
  if (before.title !== after.title) changes.push('Title changed');
  return changes;
}

function plural(count: number, noun: string): string {
  return count === 0 ? '' : `${count} ${noun}${count === 1 ? '' : 's'}`;
}
