import { CARD_VERBS } from '../cards/verbs.ts';
import { plain } from '../cards/alert-card.ts';
import { AppError, errorCode } from '../domain/errors.ts';
import { isSaidAsIs, presentError } from '../domain/present-error.ts';
import type { CardAction, CardActionOutcome, ChatTurn } from '../domain/ports/chat.ts';
import type { OwnershipCommands } from '../domain/ports/ownership-commands.ts';
import { createOwnershipContext, type OwnershipContext, type OwnershipDeps } from './ownership-context.ts';
import { loadAlert } from './set-owner.ts';
import { assign, take } from './take.ts';

export type { OwnershipDeps } from './ownership-context.ts';

/**
 * An owner for every alert (issue 15), assembled: the "Take it" button (verb `take`, one handler
 * beside the approvals' verbs), `take <code>` and `assign <code> @person`. Every change is one
 * conditional write (set-owner.ts), authorised from the turn's identity (take.ts), audited, told
 * to the ownership listener, and ends the alert's escalation.
 */
export interface OwnershipWorkflow extends OwnershipCommands {
  /** The verbs this workflow answers (`take`). */
  readonly verbs: ReadonlySet<string>;
  onCardAction(action: CardAction, turn: ChatTurn): Promise<CardActionOutcome>;
  /** Resolves when card updates and thread lines started so far are done (tests, shutdown). */
  idle(): Promise<void>;
}

/** Names in these answers come from Teams profiles: markdown escaped, one bounded line. */
const safe = (text: string): string => plain(text, 500);

/** The alert a Take it button names (card data: a key and/or a code, bounded; anything else ignored). */
function takeData(data: Record<string, unknown>): { alertKey?: string; code?: string } | undefined {
  const text = (value: unknown, max: number) => (value === undefined ? undefined : typeof value === 'string' && value.length >= 1 && value.length <= max ? value : null);
  const alertKey = text(data.alertKey, 256);
  const code = text(data.code, 40);
  if (alertKey === null || code === null || (!alertKey && !code)) return undefined;
  return { ...(alertKey ? { alertKey } : {}), ...(code ? { code } : {}) };
}

/** Who has it now, or what went wrong, in words; details to the log. */
function explain(ctx: OwnershipContext, error: unknown): string {
  if (isSaidAsIs(error)) ctx.log.info({ code: error.code }, 'ownership change refused');
  else ctx.log.error({ err: error, code: errorCode(error) }, 'ownership change failed');
  return presentError(error);
}

async function onTake(ctx: OwnershipContext, action: CardAction, turn: ChatTurn): Promise<CardActionOutcome> {
  const ref = takeData(action.data);
  if (!ref) throw new AppError('INPUT_INVALID', 'This button does not name an alert.');
  const record = await loadAlert(ctx, ref);
  const done = await take(ctx, record, turn.actor, { mayTakeOver: false });
  // The answer replaces the card the button was on, so only when it IS this alert's card; button
  // data naming another alert (hand-made, or copied) is answered in words, privately.
  const onItsCard = action.cardActivityId !== undefined && action.cardActivityId === record.card?.activityId;
  if (onItsCard) {
    const message = await ctx.deps.renderCard(record.key, done.text);
    if (message?.card) return { kind: 'card', card: message.card };
  }
  await turn.replyPrivately({ text: safe(done.text) });
  return { kind: 'answered', text: safe(done.text) };
}

const CODE = /^[A-Za-z0-9-]{3,40}$/;

export function createOwnershipWorkflow(deps: OwnershipDeps): OwnershipWorkflow {
  const ctx = createOwnershipContext(deps);
  return {
    verbs: new Set([CARD_VERBS.take]),
    async onCardAction(action, turn) {
      try {
        return await onTake(ctx, action, turn);
      } catch (error) {
        // Refusals (who has it, not a reader) are said to the clicker only.
        const text = safe(explain(ctx, error));
        if (action.via === 'execute') return { kind: 'message', text };
        await turn.replyPrivately({ text });
        return { kind: 'answered', text };
      }
    },
    async takeByCode(code, turn) {
      if (!CODE.test(code)) throw new AppError('INPUT_INVALID', 'Usage: `take <reference code>` (the Ref on the alert card).');
      return (await take(ctx, await loadAlert(ctx, { code }), turn.actor, { mayTakeOver: true })).text;
    },
    async assignByCode(code, turn) {
      if (!CODE.test(code)) throw new AppError('INPUT_INVALID', 'Usage: `assign <reference code> @person`.');
      const people = (await turn.mentioned?.()) ?? [];
      if (people.length !== 1) throw new AppError('INPUT_INVALID', 'Usage: `assign <reference code> @person`: @mention exactly one person who is in this conversation.');
      return assign(ctx, await loadAlert(ctx, { code }), turn.actor, people[0]!);
    },
    async idle() {
      while (ctx.inflight.size > 0) await Promise.allSettled([...ctx.inflight]);
    },
  };
}
