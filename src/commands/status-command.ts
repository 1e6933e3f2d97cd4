/** `status`: store, directory, alert sources, subscriptions and whether actions are paused, each with its own deadline. */
import { readableUtc } from '../cards/alert-card.ts';
import type { Severity } from '../domain/alert.ts';
import type { ChatTurn } from '../domain/ports/chat.ts';
import type { Directory } from '../domain/ports/directory.ts';
import type { StatusProbe } from '../domain/ports/status-probe.ts';
import type { Store } from '../domain/ports/store.ts';
import type { WritebackStats } from '../domain/ports/writeback-outbox.ts';
import { presentError } from '../domain/present-error.ts';
import { answer } from './answer.ts';
import { safeText } from './safe-text.ts';
import { withTimeout } from './with-timeout.ts';

export interface StatusCommandDeps {
  store: Store;
  directory?: Directory;
  status?: StatusProbe;
  minSeverity: Severity;
  sourceTimeoutMs: number;
  defenderWriteback?: boolean;
}

/** The write-back outbox in one line: counts and the last error's code, never its message. */
function writebackStatus(stats: WritebackStats): string {
  const error = stats.lastErrorCode && stats.lastErrorAt ? ` · last error ${safeText(stats.lastErrorCode, 40)} at ${readableUtc(stats.lastErrorAt.toISOString())}` : '';
  return `- **Defender write-back**: ${stats.pending} pending · ${stats.failed} failed · ${stats.sent} sent${error}`;
}

export function createStatusCommand(deps: StatusCommandDeps): (args: string, turn: ChatTurn) => Promise<void> {
  const { sourceTimeoutMs } = deps;
  return (_args, turn) => status(turn);

  async function status(turn: ChatTurn): Promise<void> {
    const directory = deps.directory;
    const probe = deps.status;
    const [storeOutcome, directoryOutcome, sourcesOutcome, pausedOutcome, subscriptionsOutcome, writebackOutcome] = await Promise.all([
      withTimeout(() => deps.store.ping(), sourceTimeoutMs, presentError),
      withTimeout(directory && (() => directory.ping()), sourceTimeoutMs, presentError),
      withTimeout(probe && (() => probe.alertSources()), sourceTimeoutMs, presentError),
      withTimeout(probe?.paused && (() => probe.paused!()), sourceTimeoutMs, presentError),
      withTimeout(() => deps.store.listSubscriptions(), sourceTimeoutMs, presentError),
      withTimeout(deps.defenderWriteback ? () => deps.store.writebackStats() : undefined, sourceTimeoutMs, presentError),
    ]);
    const health = (outcome: { kind: string; message?: string }, off = 'not configured') =>
      outcome.kind === 'ok' ? 'reachable' : outcome.kind === 'off' ? off : outcome.kind === 'timeout' ? 'did not answer in time' : `failing: ${safeText(outcome.message ?? '', 160)}`;
    const lines = [`- **Store**: ${health(storeOutcome)}`, `- **Directory (LDAP)**: ${health(directoryOutcome)}`];
    if (sourcesOutcome.kind === 'ok') {
      if (sourcesOutcome.value.length === 0) lines.push('- **Alert sources**: none enabled');
      for (const source of sourcesOutcome.value) {
        const last = source.lastPollAt ? `last poll ${readableUtc(source.lastPollAt.toISOString())}` : 'not polled yet';
        const error = source.lastError ? ` · ${safeText(source.lastError, 160)}` : '';
        lines.push(`- **Alert source ${safeText(source.name, 30)}**: ${source.health} · ${last}${error}`);
      }
    } else {
      lines.push(`- **Alert sources**: ${health(sourcesOutcome, 'unknown')}`);
    }
    if (subscriptionsOutcome.kind === 'ok') lines.push(`- **Channels subscribed**: ${subscriptionsOutcome.value.length}`);
    if (pausedOutcome.kind === 'ok') lines.push(`- **Actions**: ${pausedOutcome.value ? 'paused' : 'active'}`);
    if (writebackOutcome.kind === 'ok') lines.push(writebackStatus(writebackOutcome.value));
    else lines.push(`- **Defender write-back**: ${health(writebackOutcome, 'off')}`);
    lines.push(`- **Minimum severity posted**: ${deps.minSeverity}`);
    return answer(turn, { text: ['Status:', ...lines].join('\n\n') });
  }
}
