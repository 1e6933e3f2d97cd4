import type { Logger } from '../logger.ts';
import type { Actor } from './chat.ts';

/**
 * The ReaderCheck port: may this person (identified by the authenticated activity, never by
 * card data) use the read commands (`lookup`, `alerts`, `pending`, `history`, `status`)?
 * READER_GROUP_IDS / READER_USER_IDS. Implementations throw AppError when they cannot tell;
 * `readAccess` (src/commands/reader-check.ts) treats that as "no" (fail closed) and says so.
 * Implementations: a fixed list (src/commands/reader-check.ts) and Entra group membership
 * (src/adapters/graph/).
 */
export interface ReaderCheck {
  /** False when no reader is configured: then only approvers may read. */
  readonly configured: boolean;
  isReader(actor: Actor, options: { log: Logger }): Promise<boolean>;
}
