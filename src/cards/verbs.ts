/**
 * Verbs of the bot's card buttons: the only strings the invoke router dispatches on. The card
 * template reads them from card data (`verbs.*`) so this file is their single source.
 */
export const CARD_VERBS = {
  approve: 'approve',
  deny: 'deny',
  /** Runs a failed approval again (approvers only; the original votes stand). */
  retry: 'retry',
  /** Makes the clicker the alert's owner (readers and approvers; see src/ownership/). */
  take: 'take',
  /** Closes the alert with a Defender classification (approvers only; written back when DEFENDER_WRITEBACK=on). */
  close: 'close',
} as const;

export type CardVerb = (typeof CARD_VERBS)[keyof typeof CARD_VERBS];

export function isCardVerb(value: unknown): value is CardVerb {
  return typeof value === 'string' && (Object.values(CARD_VERBS) as string[]).includes(value);
}
