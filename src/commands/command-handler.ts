import type { DirectoryCapabilities } from '../actions/propose-actions.ts';
import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import { readableUtc } from '../cards/alert-card.ts';
import type { Severity } from '../domain/alert.ts';
import type { ChatTurn, CommandHandler, SentActivity } from '../domain/ports/chat.ts';
import { normalizeAccountKey, primaryAccountKey } from '../domain/account-key.ts';
import type { Directory } from '../domain/ports/directory.ts';
import type { OutboundMessage } from '../domain/ports/messenger.ts';
import type { Logger } from '../observability/logger.ts';
import type { AuditRecord } from '../domain/ports/audit-log.ts';
import type { Store } from '../domain/ports/store.ts';
import { createApprovalCommandHandlers } from './approval-commands.ts';
import { presentError } from '../domain/present-error.ts';
import { capitalize, labelOf } from './labels.ts';
import { accountOf, findCandidates, lookupPerson, auditFor, personKeys, MAX_LOOKUP_LENGTH, type LookupDeps } from './lookup.ts';
import { renderLookupCard, renderPickListCard, toLookupCardData, toPickListData, exactQueryOf } from './lookup-card.ts';
import { parseCommand, type CommandName } from './parse-command.ts';
import type { ApprovalCommands } from '../domain/ports/approval-commands.ts';
import type { EntraUserLookup } from '../domain/ports/entra-user-lookup.ts';
import type { OktaUserLookup } from '../domain/ports/okta-user-lookup.ts';
import type { SentinelAlertLookup } from '../domain/ports/sentinel-alert-lookup.ts';
import type { StatusProbe } from '../domain/ports/status-probe.ts';
import { createReadGuard } from './read-guard.ts';
import type { ReaderCheck } from '../domain/ports/reader-check.ts';
import { echo, safeText } from './safe-text.ts';
import { withTimeout } from './with-timeout.ts';

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
  logger: Logger;
  /** Deadline per source of an answer (default 1500 ms: the whole answer stays under 2 s). */
  sourceTimeoutMs?: number;
  /** Show Teams' typing indicator when an answer takes longer than this (default 300 ms). */
  typingAfterMs?: number;
  now?: () => Date;
}

const MAX_LIST = 10;
/** The audit entry of one lookup: who looked up whom (found by `history` of that person). */
export const LOOKUP_AUDIT_ACTION = 'lookup.read';

const HELP_LINES: readonly string[] = [
  '**lookup** _who_ (or **whois**): AD, Entra ID and Okta state, recent alerts and actions for a person (sam, DOMAIN\\sam, UPN, e-mail or part of a name)',
  '**alerts**: open MDI alerts, newest first',
  '**pending** (or **approvals**): actions waiting for approval, with their codes (answered privately)',
  '**history** _who_: what was done about a person',
  '**approve** _code_ / **deny** _code_ [reason]: decide a pending action; **resume** restarts paused actions',
  '**subscribe** / **unsubscribe** (in a channel): post new MDI alerts here, or stop',
  '**status**: alert sources, last poll, store and directory',
  '**help**: this list',
];

export function helpText(): string {
  return ['Here is what I can do. Type the command (after @mentioning me in a channel), or pick it from the / menu:', ...HELP_LINES.map((line) => `- ${line}`)].join('\n\n');
}

/**
 * Where a command's answer goes: the way it was asked. A slash command (a targeted message) is
 * answered privately to the asker; an @mention in a channel or group chat is answered in the
 * thread, visible, as the asker chose to ask in the open; a personal chat is private anyway.
 */
async function answer(turn: ChatTurn, message: OutboundMessage): Promise<void> {
  await answerAt(turn, message);
}

/** A reply in the thread, visible, whatever the way it was asked (subscribe/unsubscribe). */
async function replyIn(turn: ChatTurn, message: OutboundMessage): Promise<void> {
  await turn.reply(message);
}

/**
 * `answer`, saying where the message landed when the channel said so. A targeted (private) answer
 * is not located: its buttons are then refused ("look the person up again") rather than trusted.
 */
async function answerAt(turn: ChatTurn, message: OutboundMessage): Promise<SentActivity | undefined> {
  if (turn.targeted) {
    await turn.replyPrivately(message);
    return undefined;
  }
  if (turn.replyLocated) return turn.replyLocated(message);
  await turn.reply(message);
  return undefined;
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

  const handlers: Record<CommandName, (args: string, turn: ChatTurn) => Promise<void>> = {
    help: async (_args, turn) => answer(turn, { text: helpText() }),
    lookup: (args, turn) => lookup(args, turn),
    alerts: (_args, turn) => alerts(turn),
    pending: typed.pending,
    history: (args, turn) => history(args, turn),
    approve: typed.approve,
    deny: typed.deny,
    subscribe: (_args, turn) => subscribe(turn),
    unsubscribe: (_args, turn) => unsubscribe(turn),
    status: (_args, turn) => status(turn),
    resume: typed.resume,
  };

  async function lookup(args: string, turn: ChatTurn): Promise<void> {
    const result = await lookupPerson(args, lookupDeps);
    if (result.kind === 'invalid') return answer(turn, { text: result.message });
    if (result.kind === 'none') {
      return answer(turn, { text: [`No user matches ${echo(args)}.`, ...result.notes.map((note) => safeText(note, 200))].join(' ') });
    }
    if (result.kind === 'many') {
      const card = renderPickListCard(toPickListData(args, result.candidates, result.more, result.notes, deps.netbiosDomain));
      return answer(turn, { card, summary: `Several people match ${echo(args)}` });
    }
    const data = toLookupCardData(result.person, { capabilities: deps.capabilities, oktaConfigured: deps.okta !== undefined, netbiosDomain: deps.netbiosDomain });
    // Who looked up whom, before anything is shown: a lookup that cannot be audited is not answered.
    await deps.store.appendAudit({
      at: now(),
      actor: (turn.actor.aadObjectId ?? turn.actor.id).trim().toLowerCase(),
      action: LOOKUP_AUDIT_ACTION,
      outcome: 'info',
      target: exactQueryOf(result.person, deps.netbiosDomain),
      ...withAccountKey(primaryAccountKey(accountOf(result.person, deps.netbiosDomain))),
      details: { name: turn.actor.name, conversationKind: turn.conversation.kind },
    });
    const sent = await answerAt(turn, { card: renderLookupCard(data), summary: `Lookup: ${data.name}` });
    // The card's buttons may be pressed only because the bot recorded offering them, there, for that person.
    const target = result.person.target;
    if (sent && target && data.buttons.length > 0 && deps.approvals?.offerLookupActions) {
      await deps.approvals.offerLookupActions({ ...sent, targetKey: target, actions: data.buttons.map((button) => button.action), offeredTo: turn.actor.aadObjectId ?? turn.actor.id });
    }
  }

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

  async function history(args: string, turn: ChatTurn): Promise<void> {
    const text = args.trim();
    if (!text) return answer(turn, { text: 'Tell me who: `history jdoe`.' });
    if (text.length > MAX_LOOKUP_LENGTH) return answer(turn, { text: `That is longer than ${MAX_LOOKUP_LENGTH} characters, too long to be a name.` });
    const found = await findCandidates(text, lookupDeps);
    if (found.candidates.length > 1) {
      const options = found.candidates.slice(0, 5).map((candidate) => `\`history ${safeText(exactQueryOf(candidate, deps.netbiosDomain), 80)}\``);
      return answer(turn, { text: `Several people match ${echo(text)}: ${options.join(', ')}${found.candidates.length > 5 ? ', …' : ''}` });
    }
    // Nobody in the directories: the typed text may still be a key the audit knows (a leaver).
    const keys = found.candidates.length === 1 ? personKeys(found.candidates[0]!, deps.netbiosDomain) : [normalizeAccountKey(text)];
    const entries = await auditFor(deps.store, keys, 15);
    const notes = found.notes.map((note) => safeText(note, 200));
    if (entries.length === 0) return answer(turn, { text: [`Nothing on record for ${echo(text)}.`, ...notes].join(' ') });
    const lines = entries.map((entry) => `- ${historyLine(entry)}`);
    return answer(turn, { text: [`History for ${echo(text)}, newest first:`, ...lines, ...notes].join('\n\n') });
  }

  function subscriptionId(turn: ChatTurn): string {
    return `teams:${turn.conversation.id.split(';messageid=')[0]}`;
  }

  /**
   * Where alerts go is an approver's decision: anyone else gets one line (privately) and an audit
   * entry. Fails closed when the check cannot say.
   */
  async function mayManageSubscriptions(turn: ChatTurn, command: 'subscribe' | 'unsubscribe'): Promise<boolean> {
    const actor = turn.actor.aadObjectId ?? turn.actor.id;
    let allowed = false;
    try {
      allowed = deps.approvers ? await deps.approvers.isApprover(turn.actor, { log: deps.logger }) : false;
    } catch (error) {
      deps.logger.warn({ err: error, actor }, 'approver check failed');
    }
    if (allowed) return true;
    await deps.store.appendAudit({ at: now(), actor, action: 'subscription.unauthorized', target: subscriptionId(turn), outcome: 'refused', details: { attempted: command, name: turn.actor.name } });
    await turn.replyPrivately({ text: `Only approvers can ${command} a channel; nothing was changed.` });
    return false;
  }

  async function subscribe(turn: ChatTurn): Promise<void> {
    if (turn.conversation.kind !== 'channel') {
      return replyIn(turn, { text: 'Subscribe in the team channel that should receive the alerts: type `@Incident Bot subscribe` there.' });
    }
    if (!(await mayManageSubscriptions(turn, 'subscribe'))) return;
    const id = subscriptionId(turn);
    await deps.store.saveSubscription({ id, conversationReference: turn.channelReference, createdBy: turn.actor.aadObjectId ?? turn.actor.id, createdAt: now() });
    await deps.store.appendAudit({ at: now(), actor: turn.actor.aadObjectId ?? turn.actor.id, action: 'subscription.created', target: id, outcome: 'info' });
    return replyIn(turn, {
      text: `Subscribed. New MDI alerts of severity ≥ ${deps.minSeverity} will be posted in this channel, one thread per alert (alerts about the same account share a thread). \`unsubscribe\` stops it.`,
    });
  }

  async function unsubscribe(turn: ChatTurn): Promise<void> {
    if (turn.conversation.kind !== 'channel') return replyIn(turn, { text: 'Unsubscribe in the channel that receives the alerts.' });
    if (!(await mayManageSubscriptions(turn, 'unsubscribe'))) return;
    const id = subscriptionId(turn);
    const removed = await deps.store.removeSubscription(id);
    if (removed) await deps.store.appendAudit({ at: now(), actor: turn.actor.aadObjectId ?? turn.actor.id, action: 'subscription.removed', target: id, outcome: 'info' });
    return replyIn(turn, { text: removed ? 'Unsubscribed. No new MDI alerts will be posted in this channel.' : 'This channel was not subscribed.' });
  }

  async function status(turn: ChatTurn): Promise<void> {
    const directory = deps.directory;
    const probe = deps.status;
    const [storeOutcome, directoryOutcome, sourcesOutcome, pausedOutcome, subscriptionsOutcome] = await Promise.all([
      withTimeout(() => deps.store.ping(), sourceTimeoutMs, presentError),
      withTimeout(directory && (() => directory.ping()), sourceTimeoutMs, presentError),
      withTimeout(probe && (() => probe.alertSources()), sourceTimeoutMs, presentError),
      withTimeout(probe?.paused && (() => probe.paused!()), sourceTimeoutMs, presentError),
      withTimeout(() => deps.store.listSubscriptions(), sourceTimeoutMs, presentError),
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
    lines.push(`- **Minimum severity posted**: ${deps.minSeverity}`);
    return answer(turn, { text: ['Status:', ...lines].join('\n\n') });
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

/** One audit entry as a history line; a lookup reads as who looked the person up. */
function historyLine(entry: AuditRecord): string {
  const when = readableUtc(entry.at.toISOString());
  if (entry.action === LOOKUP_AUDIT_ACTION) {
    const name = typeof entry.details?.name === 'string' && entry.details.name ? entry.details.name : (entry.actor ?? 'someone');
    return `${safeText(when, 40)} · looked up by ${safeText(name, 100)}`;
  }
  const action = typeof entry.details?.action === 'string' ? ` ${labelOf(entry.details.action)}` : '';
  const by = entry.actor ? ` by ${entry.actor}` : '';
  return safeText(`${when} · ${entry.action}${action} · ${entry.outcome}${by}`, 200);
}

function withAccountKey(accountKey: string | undefined): { accountKey?: string } {
  return accountKey ? { accountKey } : {};
}
