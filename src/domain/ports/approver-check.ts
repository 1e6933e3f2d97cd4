import type { Logger } from '../logger.ts';
import type { Actor } from './chat.ts';

/**
 * The ApproverCheck port: may this person (identified by the authenticated activity, never by
 * card data) approve containment actions? Implementations throw AppError when they cannot tell;
 * callers treat that as "no" (fail closed) and say why. Implementations: a fixed list
 * (src/approvals/approver-check.ts) and Entra group membership (src/adapters/graph/).
 */
export interface ApproverCheck {
  /** False when nothing is configured: with no approvers, nobody can approve. */
  readonly configured: boolean;
  isApprover(actor: Actor, options: { log: Logger }): Promise<boolean>;
}
