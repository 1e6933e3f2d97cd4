/** `subscribe` and `unsubscribe`: which channels alerts are posted in, an approver's decision. */
import type { Severity } from '../domain/alert.ts';
import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import type { ChatTurn } from '../domain/ports/chat.ts';
import type { Store } from '../domain/ports/store.ts';
import type { Logger } from '../observability/logger.ts';
import { replyIn } from './answer.ts';

type Handler = (args: string, turn: ChatTurn) => Promise<void>;

export interface SubscriptionCommandDeps {
  store: Store;
  /** Who may subscribe or unsubscribe a channel; absent: nobody. */
  approvers?: ApproverCheck;
  /** MIN_SEVERITY: what `subscribe` promises to post. */
  minSeverity: Severity;
  logger: Logger;
  now: () => Date;
}

export function createSubscriptionCommandHandlers(deps: SubscriptionCommandDeps): { subscribe: Handler; unsubscribe: Handler } {
  const { now } = deps;

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

  return { subscribe: (_args, turn) => subscribe(turn), unsubscribe: (_args, turn) => unsubscribe(turn) };
}
