import type { DirectoryCapabilities } from '../actions/propose-actions.ts';
import type { ApproverCheck } from '../approvals/approver-check.ts';
import { ACTION_CATALOG, type ActionName } from '../actions/action-names.ts';
import { readableUtc } from '../cards/alert-card.ts';
import type { Severity } from '../domain/alert.ts';
import type { ChatTurn, CommandHandler, SentActivity } from '../domain/chat.ts';
import type { Directory } from '../domain/directory.ts';
import type { OutboundMessage } from '../domain/messenger.ts';
import type { Logger } from '../observability/logger.ts';
import type { Store } from '../store/store.ts';
import { findCandidates, lookupPerson, auditFor, personKeys, describeError, MAX_LOOKUP_LENGTH, type LookupDeps } from './lookup.ts';
import { renderLookupCard, renderPickListCard, toLookupCardData, toPickListData, exactQueryOf } from './lookup-card.ts';
import { parseCommand, type CommandName } from './parse-command.ts';
import type { ApprovalCommands, EntraUserLookup, OktaUserLookup, SentinelAlertLookup, StatusProbe } from './ports.ts';
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
  /** Who may `subscribe`/`unsubscribe` a channel: the approvers (the workflow's check). Absent: nobody. */
  approvers?: ApproverCheck;
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
const CODE = /^[A-Za-z0-9-]{3,40}$/;

const HELP_LINES: readonly string[] = [
  '**lookup** _who_ (or **whois**): AD, Entra ID and Okta state, recent alerts and actions for a person (sam, DOMAIN\\sam, UPN, e-mail or part of a name)',
  '**alerts**: open MDI alerts, newest first',
  '**pending**: actions waiting for approval, with their codes',
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

/** `answer`, saying where the message landed (when the channel said so). */
function answerAt(turn: ChatTurn, message: OutboundMessage): Promise<SentActivity | void> {
  return turn.targeted ? turn.replyPrivately(message) : turn.reply(message);
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

  const handlers: Record<CommandName, (args: string, turn: ChatTurn) => Promise<void>> = {
    help: async (_args, turn) => answer(turn, { text: helpText() }),
    lookup: (args, turn) => lookup(args, turn),
    alerts: (_args, turn) => alerts(turn),
    pending: (_args, turn) => pending(turn),
    history: (args, turn) => history(args, turn),
    approve: (args, turn) => decide('approve', args, turn),
    deny: (args, turn) => decide('deny', args, turn),
    subscribe: (_args, turn) => subscribe(turn),
    unsubscribe: (_args, turn) => unsubscribe(turn),
    status: (_args, turn) => status(turn),
    resume: (_args, turn) => resume(turn),
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

  async function pending(turn: ChatTurn): Promise<void> {
    const waiting = await deps.store.listPendingApprovals();
    if (waiting.length === 0) return answer(turn, { text: 'Nothing is waiting for approval.' });
    const lines = waiting.slice(0, MAX_LIST).map((approval) => {
      const target = targetLabel(approval.target);
      return `- **${safeText(approval.code, 20)}** ${labelOf(approval.action)}${target ? ` · ${safeText(target, 80)}` : ''} · expires ${readableUtc(approval.expiresAt.toISOString())}`;
    });
    const more = waiting.length > MAX_LIST ? [`…and ${waiting.length - MAX_LIST} more.`] : [];
    return answer(turn, { text: ['Waiting for approval (`approve <code>` or `deny <code> [reason]`):', ...lines, ...more].join('\n\n') });
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
    const keys = found.candidates.length === 1 ? personKeys(found.candidates[0]!, deps.netbiosDomain) : [text.toLowerCase()];
    const entries = await auditFor(deps.store, keys, 15);
    const notes = found.notes.map((note) => safeText(note, 200));
    if (entries.length === 0) return answer(turn, { text: [`Nothing on record for ${echo(text)}.`, ...notes].join(' ') });
    const lines = entries.map((entry) => {
      const action = typeof entry.details?.action === 'string' ? ` ${labelOf(entry.details.action)}` : '';
      const by = entry.actor ? ` by ${entry.actor}` : '';
      return `- ${safeText(`${readableUtc(entry.at.toISOString())} · ${entry.action}${action} · ${entry.outcome}${by}`, 200)}`;
    });
    return answer(turn, { text: [`History for ${echo(text)}, newest first:`, ...lines, ...notes].join('\n\n') });
  }

  async function decide(verb: 'approve' | 'deny', args: string, turn: ChatTurn): Promise<void> {
    const [code = '', ...rest] = args.split(' ');
    if (!CODE.test(code)) return answer(turn, { text: `Usage: \`${verb} <code>\`${verb === 'deny' ? ' [reason]' : ''}; \`pending\` lists the codes.` });
    if (!deps.approvals) return answer(turn, { text: 'Approvals are not enabled on this bot yet.' });
    const more = rest.join(' ').trim().slice(0, 500) || undefined;
    const message = verb === 'approve' ? await deps.approvals.approveByCode(code, more, turn) : await deps.approvals.denyByCode(code, more, turn);
    return answer(turn, { text: message });
  }

  async function resume(turn: ChatTurn): Promise<void> {
    if (!deps.approvals?.resume) return answer(turn, { text: 'Nothing to resume: actions are not paused on this bot.' });
    return answer(turn, { text: await deps.approvals.resume(turn) });
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
      withTimeout(() => deps.store.ping(), sourceTimeoutMs, describeError),
      withTimeout(directory && (() => directory.ping()), sourceTimeoutMs, describeError),
      withTimeout(probe && (() => probe.alertSources()), sourceTimeoutMs, describeError),
      withTimeout(probe?.paused && (() => probe.paused!()), sourceTimeoutMs, describeError),
      withTimeout(() => deps.store.listSubscriptions(), sourceTimeoutMs, describeError),
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
      await answer(turn, { text: `Sorry, \`${parsed.name}\` failed: ${describeError(error)}` });
    } finally {
      clearTimeout(typing);
    }
  };
}

function labelOf(action: string): string {
  return action in ACTION_CATALOG ? ACTION_CATALOG[action as ActionName].label : safeText(action, 40);
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** A readable name for an approval's target record (whatever fields the workflow stored). */
function targetLabel(target: Record<string, unknown>): string {
  for (const field of ['label', 'targetLabel', 'displayName', 'samAccountName', 'userPrincipalName', 'accountKey']) {
    const value = target[field];
    if (typeof value === 'string' && value) return value;
  }
  const first = Object.values(target).find((value) => typeof value === 'string');
  return typeof first === 'string' ? first : '';
}
