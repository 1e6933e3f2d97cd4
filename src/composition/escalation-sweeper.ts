/** The escalation sweeper: due reminders, pages and resolves, on a timer and on demand (part of the composition root, src/main.ts). */
import type { Logger } from '../observability/logger.ts';
import type { EscalationWorkflow } from '../escalation/escalation-workflow.ts';

export interface EscalationSweeper {
  /** One sweep now (tests; the timer does the same). Sweeps never overlap in one process. */
  sweep(): Promise<void>;
  stop(): Promise<void>;
}

export function startEscalationSweeper(deps: { escalation: EscalationWorkflow; logger: Logger; intervalSeconds: number }): EscalationSweeper {
  let running: Promise<void> | undefined;
  const sweep = (): Promise<void> => {
    running ??= deps.escalation
      .sweep()
      .catch((error: unknown) => deps.logger.error({ err: error }, 'escalation sweep failed; next one at the next tick'))
      .finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void sweep(), deps.intervalSeconds * 1000);
  timer.unref();
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
