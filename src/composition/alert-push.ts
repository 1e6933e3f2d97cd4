/** Builds the alert webhook (POST /api/alerts/notify) when configured (part of the composition root, src/main.ts). */
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { AlertSource } from '../domain/ports/alert-source.ts';
import type { Store } from '../domain/ports/store.ts';
import { createEntraCallerTokenVerifier } from '../adapters/azure/entra-caller-token.ts';
import { createAlertPushAuth } from '../http/alert-push-auth.ts';
import { answerAlertPush } from '../http/alert-push-reply.ts';
import type { AlertPushRoute } from '../http/server.ts';
import { ingestPushedAlert } from '../notifier/ingest-pushed-alert.ts';
import type { Notifier } from '../notifier/notifier.ts';

/** With push on, the poller drains the outbox this often, so a push to a standby instance is posted within it. */
export const PUSH_OUTBOX_CHECK_MS = 2_000;

export interface AlertPushDeps {
  config: Config;
  store: Store;
  sources: readonly AlertSource[];
  notifier: Notifier;
  logger: Logger;
}

export function buildAlertPushRoute({ config, store, sources, notifier, logger }: AlertPushDeps): AlertPushRoute | undefined {
  const push = config.alertPush;
  if (!push) return undefined;
  const log = logger.child({ component: 'alert-push' });
  const auth = createAlertPushAuth({
    leases: store,
    ...(push.entra
      ? {
          entra: createEntraCallerTokenVerifier({
            authorityHost: push.entra.authorityHost,
            tenantId: push.entra.tenantId,
            audiences: push.entra.audiences,
            allowedCallers: push.entra.callerIds,
            timeoutMs: config.outboundTimeoutMs,
          }),
        }
      : {}),
    ...(push.hmac ? { hmac: { secret: push.hmac.secret.reveal(), windowSeconds: push.hmac.windowSeconds } } : {}),
  });
  const ingest = (ref: Parameters<typeof ingestPushedAlert>[1], caller: string) =>
    ingestPushedAlert({ store, sources, minSeverity: config.minSeverity, logger: log, deliverNow: () => notifier.deliverNow(), fetchTimeoutMs: config.outboundTimeoutMs }, ref, caller);
  return { auth, handle: (body, caller) => answerAlertPush(ingest, body, caller, log) };
}
