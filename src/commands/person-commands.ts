/** `lookup` and `history`: a person across the directories, and what was done about them. */
import type { DirectoryCapabilities } from '../actions/propose-actions.ts';
import { readableUtc } from '../cards/alert-card.ts';
import { normalizeAccountKey, primaryAccountKey } from '../domain/account-key.ts';
import type { ApprovalCommands } from '../domain/ports/approval-commands.ts';
import type { AuditRecord } from '../domain/ports/audit-log.ts';
import type { ChatTurn } from '../domain/ports/chat.ts';
import type { Store } from '../domain/ports/store.ts';
import { answer, answerAt } from './answer.ts';
import { labelOf } from './labels.ts';
import { accountOf, auditFor, findCandidates, lookupPerson, personKeys, MAX_LOOKUP_LENGTH, type LookupDeps } from './lookup.ts';
import { exactQueryOf, renderLookupCard, renderPickListCard, toLookupCardData, toPickListData } from './lookup-card.ts';
import { echo, safeText } from './safe-text.ts';

type Handler = (args: string, turn: ChatTurn) => Promise<void>;

/** The audit entry of one lookup: who looked up whom (found by `history` of that person). */
export const LOOKUP_AUDIT_ACTION = 'lookup.read';

export interface PersonCommandDeps {
  lookup: LookupDeps;
  store: Store;
  approvals?: ApprovalCommands;
  capabilities: DirectoryCapabilities;
  oktaConfigured: boolean;
  netbiosDomain?: string;
  now: () => Date;
}

export function createPersonCommandHandlers(deps: PersonCommandDeps): { lookup: Handler; history: Handler } {
  const { now } = deps;
  const lookupDeps = deps.lookup;

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
    const data = toLookupCardData(result.person, { capabilities: deps.capabilities, oktaConfigured: deps.oktaConfigured, netbiosDomain: deps.netbiosDomain });
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

  return { lookup, history };
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
