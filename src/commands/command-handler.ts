import type { DirectoryCapabilities } from '../actions/propose-actions.ts';
import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import { readableUtc } from '../cards/alert-card.ts';
import type { Severity } from '../domain/alert.ts';
import type { ChatTurn, CommandHandler } from '../domain/ports/chat.ts';
import type { Directory } from '../domain/ports/directory.ts';
import type { Logger } from '../observability/logger.ts';
import type { Store } from '../domain/ports/store.ts';
import { createApprovalCommandHandlers } from './approval-commands.ts';
import { presentError } from '../domain/present-error.ts';
import { capitalize } from './labels.ts';
import type { LookupDeps } from './lookup.ts';
import { parseCommand, type CommandName } from './parse-command.ts';
import type { ApprovalCommands } from '../domain/ports/approval-commands.ts';
import type { OwnershipCommands } from '../domain/ports/ownership-commands.ts';
import { createOwnershipCommandHandlers } from './ownership-commands.ts';
import type { EntraUserLookup } from '../domain/ports/entra-user-lookup.ts';
import type { OktaUserLookup } from '../domain/ports/okta-user-lookup.ts';
import type { SentinelAlertLookup } from '../domain/ports/sentinel-alert-lookup.ts';
import type { StatusProbe } from '../domain/ports/status-probe.ts';
import { createReadGuard } from './read-guard.ts';
import type { ReaderCheck } from '../domain/ports/reader-check.ts';
import { echo, safeText } from './safe-text.ts';
import { answer } from './answer.ts';
import { createPersonCommandHandlers } from './person-commands.ts';
import { createStatusCommand } from './status-command.ts';
import { createSubscriptionCommandHandlers } from './subscription-commands.ts';

export { LOOKUP_AUDIT_ACTION } from './person-commands.ts';

export interface CommandDeps {
  store: Store;
  /** Absent when no LDAP directory is configured. */
  directory?: Directory;
  entra?: EntraUserLookup;
  okta?: OktaUserLookup;
  /** Sentinel's SecurityAlert table, searched for the person on `lookup` (besides the store). */
  sentinel?: SentinelAlertLookup;
  /** Look-back of that search in days (default 30). */
  sentinelDays?: number;
  /** The approval workflow; `approve`/`deny` say so politely while it is absent. */
  approvals?: ApprovalCommands;
  /** `take <code>`, `assign <code> @person` (issue 15); absent: said politely. */
  ownership?: OwnershipCommands;
  /** Who may `subscribe`/`unsubscribe` a channel: the approvers (the workflow's check). Absent: nobody. Approvers may also read. */
  approvers?: ApproverCheck;
  /** Who else may use the read commands (READER_GROUP_IDS/READER_USER_IDS). Absent or unconfigured: approvers only. */
  readers?: ReaderCheck;
  /** LOOKUP_RATE_PER_MINUTE: `lookup`, `history` and `status` per person per minute (default 10). */
  lookupRatePerMinute?: number;
  status?: StatusProbe;
  /** Which systems actions can run against (decides the lookup card's buttons). */
  capabilities: DirectoryCapabilities;
  netbiosDomain?: string;
  /** MIN_SEVERITY: what `subscribe` promises to post. */
  minSeverity: Severity;
  /** DEFENDER_WRITEBACK=on: `status` shows the write-back outbox. */
  defenderWriteback?: boolean;
  logger: Logger;
  /** Deadline per source of an answer (default 1500 ms: the whole answer stays under 2 s). */
  sourceTimeoutMs?: number;
  /** Show Teams' typing indicator when an answer takes longer than this (default 300 ms). */
  typingAfterMs?: number;
  now?: () => Date;
}

const MAX_LIST = 10;

const HELP_LINES: readonly string[] = [
  '**lookup** _who_ (or **whois**): AD, Entra ID and Okta state, recent alerts and actions for a person (sam, DOMAIN\\sam, UPN, e-mail or part of a name)',
  '**alerts**: open MDI alerts, newest first',
  '**pending** (or **approvals**): actions waiting for approval, with their codes (answered privately)',
  '**history** _who_: what was done about a person',
  '**approve** _code_ / **deny** _code_ [reason]: decide a pending action; **resume** restarts paused actions',
  '**take** _ref_: make the alert yours; **assign** _ref_ @person (leads): give it to someone',
  '**subscribe** / **unsubscribe** (in a channel): post new MDI alerts here, or stop',
  '**status**: alert sources, last poll, store and directory',
  '**help**: this list',
];

export function helpText(): string {
  return ['Here is what I can do. Type the command (after @mentioning me in a channel), or pick it from the / menu:', ...HELP_LINES.map((line) => `- ${line}`)].join('\n\n');
}

/**
 * The bot's text commands. Answers follow the question (see `answer`): a `/lookup` slash command
 * is answered privately, an @mention in the thread; `subscribe` always answers in the thread so
 * the channel sees what it signed up for. A failure becomes one sentence; details go to the log.
 */
export function createCommandHandler(deps: CommandDeps): CommandHandler {
  const sourceTimeoutMs = deps.sourceTimeoutMs ?? 1500;
  const typingAfterMs = deps.typingAfterMs ?? 300;
  const now = deps.now ?? (() => new Date());
  const lookupDeps: LookupDeps = {
    directory: deps.directory,
    entra: deps.entra,
    okta: deps.okta,
    sentinel: deps.sentinel,
    ...(deps.sentinelDays === undefined ? {} : { sentinelDays: deps.sentinelDays }),
    store: deps.store,
    netbiosDomain: deps.netbiosDomain,
    capabilities: deps.capabilities,
    sourceTimeoutMs,
  };
  const mayRun = createReadGuard({
    store: deps.store,
    approvers: deps.approvers,
    readers: deps.readers,
    ratePerMinute: deps.lookupRatePerMinute ?? 10,
    logger: deps.logger,
    now,
  });
  const typed = createApprovalCommandHandlers({ store: deps.store, approvals: deps.approvals, logger: deps.logger, answer });
  const person = createPersonCommandHandlers({ lookup: lookupDeps, store: deps.store, approvals: deps.approvals, capabilities: deps.capabilities, oktaConfigured: deps.okta !== undefined, netbiosDomain: deps.netbiosDomain, now });
  const owners = createOwnershipCommandHandlers({ ownership: deps.ownership, logger: deps.logger, answer });
  const subscriptions = createSubscriptionCommandHandlers({ store: deps.store, approvers: deps.approvers, minSeverity: deps.minSeverity, logger: deps.logger, now });

  const handlers: Record<CommandName, (args: string, turn: ChatTurn) => Promise<void>> = {
    help: async (_args, turn) => answer(turn, { text: helpText() }),
    lookup: person.lookup,
    alerts: (_args, turn) => alerts(turn),
    pending: typed.pending,
    history: person.history,
    approve: typed.approve,
    deny: typed.deny,
    take: owners.take,
    assign: owners.assign,
    subscribe: subscriptions.subscribe,
    unsubscribe: subscriptions.unsubscribe,
    status: createStatusCommand({ store: deps.store, directory: deps.directory, status: deps.status, minSeverity: deps.minSeverity, sourceTimeoutMs, defenderWriteback: deps.defenderWriteback ?? false }),
    resume: typed.resume,
  };

  async function alerts(turn: ChatTurn): Promise<void> {
    const open = await deps.store.listOpenAlerts(MAX_LIST);
    if (open.length === 0) return answer(turn, { text: 'No open MDI alerts.' });
    const lines = open.map((record) => {
      const who = record.alert.accounts[0];
      const account = who ? (who.domain && who.samAccountName ? `${who.domain}\\${who.samAccountName}` : (who.userPrincipalName ?? who.displayName ?? '')) : '';
      return `- **${capitalize(record.severity)}** ${safeText(record.alert.title, 120)}${account ? ` · ${safeText(account, 80)}` : ''} · Ref ${safeText(record.code, 20)} · ${readableUtc(record.changedAt.toISOString())}`;
    });
    return answer(turn, { text: [`Open MDI alerts, newest first (${open.length}${open.length === MAX_LIST ? '+' : ''}):`, ...lines].join('\n\n') });
  }

  return async (text, turn) => {
    const parsed = parseCommand(text);
    const log = deps.logger.child({ command: parsed.kind === 'command' ? parsed.name : parsed.kind, conversationKind: turn.conversation.kind, targeted: turn.targeted });
    if (parsed.kind === 'empty') return answer(turn, { text: helpText() });
    if (parsed.kind === 'unknown') {
      return answer(turn, { text: `I don't know ${echo(parsed.word)}. Try \`lookup <who>\`, \`alerts\`, \`pending\`, \`history <who>\`, \`subscribe\`, \`status\` or \`help\`.` });
    }
    // Who may read, and how often, before anything else (a refusal is one private line, no typing).
    if (!(await mayRun(parsed.name, turn))) return;
    // Teams shows "typing…" only if we are slow: a quick answer needs no indicator.
    const typing = setTimeout(() => {
      turn.typing().catch((error: unknown) => log.debug({ err: error }, 'typing indicator failed'));
    }, typingAfterMs);
    const started = Date.now();
    try {
      await handlers[parsed.name](parsed.args, turn);
      log.info({ ms: Date.now() - started }, 'command answered');
    } catch (error) {
      log.error({ err: error, ms: Date.now() - started }, 'command failed');
      await answer(turn, { text: `Sorry, \`${parsed.name}\` failed: ${presentError(error)}` });
    } finally {
      clearTimeout(typing);
    }
  };
}

