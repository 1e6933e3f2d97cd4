import { ACTION_CATALOG, isActionName } from '../actions/action-names.ts';
import type { Approval, Vote } from '../domain/ports/approval-store.ts';

/** The sentences people read about an approval, on the card and in the thread. */

export function actionLabel(action: string): string {
  return isActionName(action) ? ACTION_CATALOG[action].label : action;
}

export function names(votes: readonly Vote[]): string {
  return votes.map((vote) => vote.approverName).join(', ');
}

/** "1 of 2: Alice" */
export function progress(required: number, votes: readonly Vote[]): string {
  return votes.length === 0 ? `0 of ${required}` : `${votes.length} of ${required}: ${names(votes)}`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

interface StoredResult {
  summary?: string;
  durationMs?: number;
  dryRun?: boolean;
  reconciled?: boolean;
}

export function storedResult(approval: Approval): StoredResult {
  return (approval.result ?? {}) as StoredResult;
}

const DRY_RUN_PREFIX = /^\s*dry[\s-]?run\s*[:,-]?\s*/i;

/**
 * The one wording of a dry-run result: "DRY RUN (nothing changed): would disable CORP\\jdoe in AD".
 * Adapters describe a dry run in their own summary ("DRY RUN: would ..."); that prefix is dropped
 * here so a thread line says "dry run" once.
 */
export function dryRunWording(summary: string): string {
  return `DRY RUN (nothing changed): ${summary.replace(DRY_RUN_PREFIX, '')}`;
}

/** "Disabled CORP\\jdoe in AD - approved by Alice, 0.4 s" */
export function successLine(approval: Approval): string {
  const result = storedResult(approval);
  const by = approval.decidedBy ? ` — approved by ${approval.decidedBy}` : '';
  const took = typeof result.durationMs === 'number' ? `, ${seconds(result.durationMs)}` : '';
  const summary = result.summary ?? `${actionLabel(approval.action)} done`;
  return `${result.dryRun ? dryRunWording(summary) : summary}${by}${took}`;
}

/** One line for the state an approval is in, as the card shows it next to the action. */
export function stateLine(approval: Approval, votes: readonly Vote[], options: { paused: boolean; ttlMinutes: number }): string {
  switch (approval.state) {
    case 'pending':
      return `Awaiting approval ${progress(approval.requiredApprovals, votes)} · or type: approve ${approval.code}`;
    case 'approved':
      return options.paused
        ? `Approved by ${approval.decidedBy ?? names(votes)} — waiting: execution is paused (an approver types resume)`
        : `Approved by ${approval.decidedBy ?? names(votes)} — starting`;
    case 'running':
      return `Approved by ${approval.decidedBy ?? names(votes)} — running`;
    case 'succeeded':
      return successLine(approval);
    case 'failed':
      return `Failed: ${approval.reason ?? approval.errorCode ?? 'unknown error'}`;
    case 'denied':
      return `Denied by ${approval.decidedBy ?? 'an approver'}${approval.reason ? `: ${approval.reason}` : ''}`;
    case 'expired':
      return `Expired: no decision within ${options.ttlMinutes} min`;
    case 'refused':
      return `Refused: ${approval.reason ?? 'not allowed'}`;
  }
}
