/** The approval sweeper: expiry and reconciliation at start, on a timer, and on demand (part of the composition root, src/main.ts). */
import type { Logger } from '../observability/logger.ts';

/** How often expired approvals are swept and stuck executions reconciled. */
const SWEEP_INTERVAL_MS = 60_000;

export interface SweptApprovals {
  sweepExpired(): Promise<unknown>;
  reconcile(): Promise<unknown>;
}

export interface ApprovalSweeper {
  /** Expiry, then reconciliation, now. */
  sweep(): Promise<void>;
  stop(): void;
}

export async function startApprovalSweeper(deps: { approvals: SweptApprovals; logger: Logger; runLeaseSeconds: number }): Promise<ApprovalSweeper> {
  const { approvals, logger } = deps;
  const reconcile = () => approvals.reconcile().catch((error: unknown) => logger.error({ err: error }, 'reconciling unfinished actions failed; retried by the sweeper'));
  // Executions a crashed instance left running are read back and reported, never re-run blindly.
  await reconcile();
  const sweep = async () => {
    await approvals.sweepExpired();
    await approvals.reconcile();
  };
  const sweeper = setInterval(() => {
    void sweep().catch((error: unknown) => logger.error({ err: error }, 'approval sweep failed; next one in a minute'));
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();
  // A run killed just before this start still holds its lease for up to its lifetime: look again
  // once it has lapsed rather than a whole sweep interval later.
  const recheck = setTimeout(() => void reconcile(), deps.runLeaseSeconds * 1000 + 500);
  recheck.unref();
  return {
    sweep,
    stop() {
      clearInterval(sweeper);
      clearTimeout(recheck);
    },
  };
}
