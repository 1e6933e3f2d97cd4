/**
 * Approvals over Kysely: state transitions as compare-and-set, votes per round, card offers, the execution count.
 * Part of the SqlStore (./sql-store.ts), which composes one of each per database.
 */
import { normalizeReferenceCode } from './reference-code.ts';
import type { Approval, ApprovalPatch, ApprovalState, ApprovalRound, CardOffer, NewApproval, Vote } from '../domain/ports/approval-store.ts';
import { iso } from './sql-values.ts';
import { toApproval } from './sql-rows.ts';
import { SqlPart } from './sql-part.ts';

/** Approvals, their votes and the cards that offer them. */
export class SqlApprovals extends SqlPart {
  async createApproval(approval: NewApproval): Promise<Approval> {
    const requestedAt = approval.requestedAt ?? new Date();
    const row = await this.db
      .insertInto('approvals')
      .values({
        id: approval.id,
        alert_key: approval.alertKey ?? null,
        action: approval.action,
        target_json: JSON.stringify(approval.target),
        code: normalizeReferenceCode(approval.code),
        state: 'pending' satisfies ApprovalState,
        required_approvals: approval.requiredApprovals,
        requested_by: approval.requestedBy,
        requested_at: iso(requestedAt),
        expires_at: iso(approval.expiresAt),
        updated_at: iso(requestedAt),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toApproval(row);
  }

  async getApproval(id: string): Promise<Approval | undefined> {
    const row = await this.db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toApproval(row);
  }

  async getApprovalByCode(code: string): Promise<Approval | undefined> {
    const row = await this.db.selectFrom('approvals').selectAll().where('code', '=', normalizeReferenceCode(code)).executeTakeFirst();
    return row === undefined ? undefined : toApproval(row);
  }

  listPendingApprovals(): Promise<Approval[]> {
    return this.listApprovalsInState('pending');
  }

  async listApprovalsInState(state: ApprovalState): Promise<Approval[]> {
    const rows = await this.db.selectFrom('approvals').selectAll().where('state', '=', state).orderBy('requested_at').orderBy('id').execute();
    return rows.map(toApproval);
  }

  async listApprovalsAwaitingConfirmation(): Promise<Approval[]> {
    // result_json is JSON.stringify output: the key appears as "awaiting": exactly when it is set.
    const rows = await this.db.selectFrom('approvals').selectAll().where('state', '=', 'succeeded').where('result_json', 'like', '%"awaiting":%').orderBy('requested_at').orderBy('id').execute();
    return rows.map(toApproval);
  }

  async listApprovalsForAlert(alertKey: string): Promise<Approval[]> {
    const rows = await this.db.selectFrom('approvals').selectAll().where('alert_key', '=', alertKey).orderBy('requested_at').orderBy('id').execute();
    return rows.map(toApproval);
  }

  async transitionApproval(
    id: string,
    from: ApprovalState | ApprovalState[],
    to: ApprovalState,
    patch: ApprovalPatch = {},
    now: Date = new Date(),
  ): Promise<boolean> {
    const fromStates = Array.isArray(from) ? from : [from];
    if (fromStates.length === 0) return false;
    const startedAt = patch.startedAt ?? (to === 'running' ? now : undefined);
    const finishedAt = patch.finishedAt ?? (to === 'succeeded' || to === 'failed' ? now : undefined);
    const result = await this.db
      .updateTable('approvals')
      .set({
        state: to,
        updated_at: iso(now),
        ...(patch.decidedBy !== undefined && { decided_by: patch.decidedBy }),
        ...(patch.reason !== undefined && { reason: patch.reason }),
        ...(patch.result !== undefined && { result_json: JSON.stringify(patch.result) }),
        ...(patch.errorCode !== undefined && { error_code: patch.errorCode }),
        ...(startedAt !== undefined && { started_at: iso(startedAt) }),
        ...(finishedAt !== undefined && { finished_at: iso(finishedAt) }),
        ...(patch.card !== undefined && { card_conversation_id: patch.card.conversationId, card_activity_id: patch.card.activityId }),
        ...(patch.requiredApprovals !== undefined && { required_approvals: patch.requiredApprovals }),
      })
      .where('id', '=', id)
      .where('state', 'in', fromStates)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async setApprovalCard(id: string, card: { conversationId: string; activityId: string }): Promise<boolean> {
    const result = await this.db
      .updateTable('approvals')
      .set({ card_conversation_id: card.conversationId, card_activity_id: card.activityId })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async #currentRound(approvalId: string): Promise<number> {
    const row = await this.db.selectFrom('approvals').select('round').where('id', '=', approvalId).executeTakeFirst();
    return row === undefined ? 1 : Number(row.round);
  }

  async addApprovalVote(approvalId: string, approverId: string, approverName: string, at: Date, round?: number): Promise<{ added: boolean; votes: Vote[] }> {
    const inRound = round ?? (await this.#currentRound(approvalId));
    const inserted = await this.db
      .insertInto('approval_votes')
      .values({ approval_id: approvalId, round: inRound, approver_id: approverId, approver_name: approverName, voted_at: iso(at) })
      .onConflict((oc) => oc.columns(['approval_id', 'round', 'approver_id']).doNothing())
      .returning('approver_id')
      .executeTakeFirst();
    return { added: inserted !== undefined, votes: await this.listApprovalVotes(approvalId, inRound) };
  }

  async listApprovalVotes(approvalId: string, round?: number): Promise<Vote[]> {
    const inRound = round ?? (await this.#currentRound(approvalId));
    const rows = await this.db
      .selectFrom('approval_votes')
      .selectAll()
      .where('approval_id', '=', approvalId)
      .where('round', '=', inRound)
      .orderBy('voted_at')
      .orderBy('approver_id')
      .execute();
    return rows.map((row) => ({ approverId: row.approver_id, approverName: row.approver_name, at: new Date(row.voted_at) }));
  }

  async reopenApproval(id: string, from: ApprovalState, next: ApprovalRound, now: Date = new Date()): Promise<boolean> {
    const result = await this.db
      .updateTable('approvals')
      .set((eb) => ({
        state: 'pending' satisfies ApprovalState,
        round: eb('round', '+', 1),
        required_approvals: next.requiredApprovals,
        expires_at: iso(next.expiresAt),
        requested_by: next.requestedBy,
        requested_at: iso(now),
        updated_at: iso(now),
        decided_by: null,
        reason: null,
        result_json: null,
        error_code: null,
        started_at: null,
        finished_at: null,
      }))
      .where('id', '=', id)
      .where('state', '=', from)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async saveCardOffer(offer: CardOffer): Promise<void> {
    const values = {
      conversation_id: offer.conversationId,
      activity_id: offer.activityId,
      target_key: offer.targetKey,
      actions_json: JSON.stringify(offer.actions),
      offered_to: offer.offeredTo,
      created_at: iso(offer.createdAt),
      expires_at: iso(offer.expiresAt),
    };
    await this.db
      .insertInto('card_offers')
      .values(values)
      .onConflict((oc) => oc.columns(['conversation_id', 'activity_id']).doUpdateSet({ target_key: values.target_key, actions_json: values.actions_json, offered_to: values.offered_to, created_at: values.created_at, expires_at: values.expires_at }))
      .execute();
  }

  async getCardOffer(conversationId: string, activityId: string): Promise<CardOffer | undefined> {
    const row = await this.db.selectFrom('card_offers').selectAll().where('conversation_id', '=', conversationId).where('activity_id', '=', activityId).executeTakeFirst();
    if (!row) return undefined;
    const actions: unknown = JSON.parse(row.actions_json);
    return {
      conversationId: row.conversation_id,
      activityId: row.activity_id,
      targetKey: row.target_key,
      actions: Array.isArray(actions) ? actions.filter((a): a is string => typeof a === 'string') : [],
      offeredTo: row.offered_to,
      createdAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
    };
  }

  async countExecutionsSince(since: Date): Promise<number> {
    const row = await this.db
      .selectFrom('approvals')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('started_at', '>=', iso(since))
      .executeTakeFirstOrThrow();
    return Number(row.count); // PostgreSQL returns count(*) as a bigint string
  }
}
