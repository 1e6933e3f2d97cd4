import { randomUUID } from 'node:crypto';
import { readableUtc } from '../cards/alert-card.ts';
import { AppError } from '../domain/errors.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { AlertOwner } from '../domain/ports/alert-ownership.ts';
import type { Actor } from '../domain/ports/chat.ts';
import { afterAnswer, type OwnershipContext } from './ownership-context.ts';

/** The person as stored and compared: Entra object id, lower-case (never a card's data). */
export function personId(actor: Actor): string {
  return (actor.aadObjectId ?? actor.id).trim().toLowerCase();
}

export function ownerOf(actor: Actor, since: Date): AlertOwner {
  return { id: personId(actor), name: actor.name.slice(0, 200), ...(actor.id.startsWith('29:') ? { teamsId: actor.id } : {}), since };
}

export function heldBy(record: AlertRecord): string {
  const owner = record.owner!;
  return `${owner.name} has this alert (since ${readableUtc(owner.since.toISOString())}).`;
}

export async function loadAlert(ctx: OwnershipContext, ref: { alertKey?: string; code?: string }): Promise<AlertRecord> {
  const record = (ref.alertKey ? await ctx.store.getAlertByKey(ref.alertKey) : undefined) ?? (ref.code ? await ctx.store.getAlertByCode(ref.code) : undefined);
  if (!record) throw new AppError('NOT_FOUND', 'That alert is not known to the bot (any more).');
  return record;
}

/**
 * Stores `owner` for the alert with one conditional write (no owner yet, or still `expected`), then
 * what follows an owner change: audit, the ownership listener, the escalation stopped (a page
 * resolved), the card updated where it lives and a line in the thread. Throws CONFLICT when another
 * change won the race, naming who has the alert now.
 */
export async function setOwner(ctx: OwnershipContext, record: AlertRecord, owner: AlertOwner, by: Actor, how: 'taken' | 'taken-over' | 'assigned'): Promise<AlertRecord> {
  const previous = record.owner;
  const won = previous ? await ctx.store.reassignAlert(record.key, previous.id, owner) : await ctx.store.takeAlert(record.key, owner);
  const now = await ctx.store.getAlertByKey(record.key);
  if (!won || !now) {
    if (now?.owner && now.owner.id === owner.id) throw new AppError('CONFLICT', how === 'assigned' ? `${owner.name} already has this alert.` : 'You already have this alert.');
    throw new AppError('CONFLICT', now?.owner ? `${heldBy(now)} It changed while you asked; a lead can re-assign it.` : 'The alert changed while you asked; try again.');
  }
  const correlationId = randomUUID();
  await ctx.store.appendAudit({
    at: ctx.now(),
    actor: personId(by),
    action: how === 'assigned' ? 'alert.assigned' : how === 'taken-over' ? 'alert.taken-over' : 'alert.taken',
    alertKey: record.key,
    correlationId,
    outcome: 'success',
    details: { owner: owner.id, ownerName: owner.name, byName: by.name, ...(previous ? { previousOwner: previous.id, previousOwnerName: previous.name } : {}) },
  });
  const change = { alertKey: record.key, alertCode: record.code, source: record.alert.source, sourceId: record.alert.sourceId, owner, ...(previous ? { previous } : {}), by: { id: personId(by), name: by.name }, correlationId };
  try {
    await ctx.deps.listener.ownerChanged(change);
  } catch (error) {
    ctx.log.error({ err: error, alertKey: record.key, correlationId }, 'the ownership listener failed; the owner stays set');
  }
  const line = how === 'taken' ? `${by.name} took this alert.` : how === 'taken-over' ? `${by.name} took this alert over from ${previous?.name ?? 'its owner'}.` : `${by.name} assigned this alert to ${owner.name}${previous ? ` (was ${previous.name})` : ''}.`;
  afterAnswer(ctx, 'owner change', async () => {
    await ctx.deps.stopEscalation(record.key, how === 'assigned' ? 'assigned' : 'taken');
    await ctx.deps.updateCard(record.key, line);
    await ctx.deps.replyInThread(record.key, line);
  });
  return now;
}
