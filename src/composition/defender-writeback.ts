/** The Defender write-back: the recorder the use cases speak to, and its worker on a timer (part of the composition root, src/main.ts). */
import type { EntraUserLookup } from '../domain/ports/entra-user-lookup.ts';
import type { AlertWriteback } from '../domain/ports/alert-writeback.ts';
import type { DefenderWriteback } from '../domain/ports/defender-writeback.ts';
import type { Store } from '../domain/ports/store.ts';
import type { Logger } from '../observability/logger.ts';
import { createWritebackRecorder } from '../writeback/record-writeback.ts';
import { createWritebackWorker } from '../writeback/writeback-worker.ts';
import { createOwnerWriteback, type OwnerListener } from '../writeback/owner-writeback.ts';

export interface DefenderWritebackRuntime {
  writeback: AlertWriteback;
  /** For the take/assign handler: Defender's assignedTo follows the owner. */
  owner: OwnerListener;
  /** Sends what is due now (tests, shutdown). */
  drainNow(): Promise<void>;
  stop(): Promise<void>;
}

export interface DefenderWritebackDeps {
  enabled: boolean;
  retrySeconds: number;
  store: Store;
  /** The Graph adapter; absent when write-back is off. */
  defender?: DefenderWriteback;
  logger: Logger;
  instanceId: string;
  timeoutMs: number;
  now?: () => Date;
}

export function startDefenderWriteback(deps: DefenderWritebackDeps): DefenderWritebackRuntime {
  const { store, logger } = deps;
  const defender = deps.enabled ? deps.defender : undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const worker = defender
    ? createWritebackWorker({
        store,
        defender,
        logger,
        instanceId: deps.instanceId,
        retryBaseMs: deps.retrySeconds * 1000,
        timeoutMs: deps.timeoutMs,
        // The card's write-back line is re-rendered by the notifier's card-update outbox.
        onSettled: async (alertKey) => void (await store.markAlertNeedsUpdate(alertKey)),
        ...(deps.now ? { now: deps.now } : {}),
      })
    : undefined;

  /** One drain at a time in this process; a wake during one runs another right after. */
  function drain(): Promise<void> {
    if (!worker) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await worker.drain().catch((error: unknown) => logger.error({ err: error }, 'write-back round failed; next one on the timer'));
      } while (again);
    })().finally(() => (running = undefined));
    return running;
  }

  const writeback = createWritebackRecorder({ store, enabled: Boolean(worker), logger, wake: () => void drain() });
  // Retries come due on the timer (at most every 15 s, sooner with a short retry delay).
  const timer = worker ? setInterval(() => void drain(), Math.min(15_000, Math.max(500, deps.retrySeconds * 500))) : undefined;
  timer?.unref();
  if (worker) void drain();
  return {
    writeback,
    owner: createOwnerWriteback({ writeback, ...(deps.now ? { now: deps.now } : {}) }),
    drainNow: drain,
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

/** An owner's UPN by Entra object id (Defender's assignedTo shows UPNs). */
export function upnLookup(entra: EntraUserLookup): (entraObjectId: string) => Promise<string | undefined> {
  return async (entraObjectId) => (await entra.findUsers(entraObjectId, 1)).find((user) => user.id.toLowerCase() === entraObjectId.toLowerCase())?.userPrincipalName ?? undefined;
}
