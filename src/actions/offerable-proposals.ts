import { accountKeys } from '../domain/account-key.ts';
import type { Alert } from '../domain/alert.ts';
import type { Logger } from '../domain/logger.ts';
import type { ActionTarget, Remediation } from '../domain/remediation.ts';
import type { ProposedAction } from './propose-actions.ts';

/**
 * The proposals a card shows as buttons: those the executor can offer for the account now
 * (Defender for Identity lists the action for it). Display only: pressing a button still goes
 * through the gate, which inspects the account again. A proposal that already has an approval
 * (`keep`) stays, so a card never loses a decision or its result; an executor that cannot answer
 * right now leaves the button (the gate refuses with the reason if it must).
 */
export async function offerableProposals(
  alert: Alert,
  proposals: readonly ProposedAction[],
  remediation: Pick<Remediation, 'offerable' | 'describe'>,
  options: { log: Logger; keep?: (proposal: ProposedAction) => boolean },
): Promise<ProposedAction[]> {
  const noted = proposals.map((proposal) => {
    const note = remediation.describe?.(proposal.action);
    return note ? { ...proposal, note } : proposal;
  });
  if (!remediation.offerable) return noted;
  const shown: ProposedAction[] = [];
  // An executor that did not answer for an account is not asked again for it in this render.
  const unanswered = new Set<string>();
  for (const proposal of noted) {
    if (options.keep?.(proposal)) {
      shown.push(proposal);
      continue;
    }
    if (unanswered.has(proposal.target)) {
      shown.push(proposal);
      continue;
    }
    const account = alert.accounts.find((candidate) => accountKeys(candidate).includes(proposal.target));
    if (!account) continue;
    const target: ActionTarget = { accountKey: proposal.target };
    for (const key of ['displayName', 'samAccountName', 'domain', 'userPrincipalName', 'sid', 'entraObjectId'] as const) {
      if (account[key]) target[key] = account[key];
    }
    const offered = await remediation.offerable(proposal.action, target, { log: options.log, signal: AbortSignal.timeout(4_000) }).catch((error: unknown) => {
      options.log.warn({ err: error, action: proposal.action }, 'could not ask the executor whether it offers the action; the button stays');
      unanswered.add(proposal.target);
      return true;
    });
    if (offered) shown.push(proposal);
  }
  return shown;
}
