import { readAccess } from '../commands/reader-check.ts';
import { AppError } from '../domain/errors.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { Actor } from '../domain/ports/chat.ts';
import type { OwnershipContext } from './ownership-context.ts';
import { heldBy, ownerOf, personId, setOwner } from './set-owner.ts';

async function refuse(ctx: OwnershipContext, actor: Actor, alertKey: string, what: string, why: string): Promise<never> {
  await ctx.store.appendAudit({ at: ctx.now(), actor: personId(actor), action: 'alert.ownership.unauthorized', alertKey, outcome: 'refused', details: { attempted: what, name: actor.name, refusedBecause: why } });
  throw new AppError('NOT_AUTHORIZED', why);
}

/** May this person be an alert's owner (take it, or be assigned it)? Readers and approvers. */
export async function mayOwn(ctx: OwnershipContext, person: Actor): Promise<boolean> {
  return (await readAccess(person, { approvers: ctx.deps.approvers, readers: ctx.deps.readers, log: ctx.log })).allowed;
}

export async function isLead(ctx: OwnershipContext, person: Actor): Promise<boolean> {
  try {
    return await ctx.deps.leads.isApprover(person, { log: ctx.log });
  } catch (error) {
    ctx.log.warn({ err: error, actor: person.aadObjectId }, 'lead check could not answer; refused');
    return false;
  }
}

/**
 * "Take it" (button or `take <code>`): the actor, as the turn identifies them, becomes the owner.
 * Nobody owns it: a reader or approver takes it. Someone else owns it: the actor is told, privately,
 * who has it; only a lead's typed `take <code>` takes it over (`mayTakeOver`). A button never takes
 * over: two people pressing "Take it" at 3 a.m. must not silently swap owners, and with no leads
 * configured every approver is a lead. The actor already owns it (a double click, a replay): said
 * so, nothing changes.
 */
export async function take(ctx: OwnershipContext, record: AlertRecord, actor: Actor, how: { mayTakeOver: boolean }): Promise<{ record: AlertRecord; text: string }> {
  if (!(await mayOwn(ctx, actor))) await refuse(ctx, actor, record.key, 'take', 'Only readers and approvers may take an alert; nothing changed.');
  const current = record.owner;
  if (current?.id === personId(actor)) return { record, text: 'You already have this alert.' };
  if (current && !(how.mayTakeOver && (await isLead(ctx, actor)))) {
    const hint = how.mayTakeOver ? 'A lead can re-assign it.' : `A lead can take it over by typing: take ${record.code} (or re-assign it: assign ${record.code} @person).`;
    throw new AppError('CONFLICT', `${heldBy(record)} ${hint}`);
  }
  const updated = await setOwner(ctx, record, ownerOf(actor, ctx.now()), actor, current ? 'taken-over' : 'taken');
  return { record: updated, text: current ? `You took this alert over from ${current.name}.` : 'You have this alert now.' };
}

/** `assign <code> @person` (leads only): the mentioned person, confirmed by Teams, becomes the owner. */
export async function assign(ctx: OwnershipContext, record: AlertRecord, actor: Actor, assignee: Actor): Promise<string> {
  if (!(await isLead(ctx, actor))) await refuse(ctx, actor, record.key, 'assign', 'Only SOC leads may re-assign an alert; nothing changed.');
  if (!(await mayOwn(ctx, assignee))) throw new AppError('NOT_AUTHORIZED', `${assignee.name} is not a reader or approver of this bot, so they cannot own an alert; nothing changed.`);
  if (record.owner?.id === personId(assignee)) return `${assignee.name} already has this alert.`;
  await setOwner(ctx, record, ownerOf(assignee, ctx.now()), actor, 'assigned');
  return `${assignee.name} has this alert now.`;
}
