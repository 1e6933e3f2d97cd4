import { describe, expect, it } from 'vitest';
import { offerableProposals } from '../../src/actions/offerable-proposals.ts';
import type { ProposedAction } from '../../src/actions/propose-actions.ts';
import type { Alert } from '../../src/domain/alert.ts';
import { identityTheftAlert, JDOE_TARGET } from '../support/approval-harness.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';

const alert: Alert = identityTheftAlert();
const proposal = (action: ProposedAction['action']): ProposedAction => ({ action, target: JDOE_TARGET, targetLabel: 'jdoe Doe', requiredApprovals: 1, destructive: true, rule: 'default' });
const log = captureLogger().logger;

describe('which proposals get buttons', () => {
  it('only what the executor offers for the account, each with its note; a decided one always stays', async () => {
    const asked: string[] = [];
    const shown = await offerableProposals(alert, [proposal('disable-ad-account'), proposal('reset-password'), proposal('revoke-sessions')], {
      async offerable(action, target) {
        asked.push(`${action}:${target.sid}`);
        return action !== 'reset-password' && action !== 'revoke-sessions';
      },
      describe: (action) => (action === 'reset-password' ? 'no temporary password' : undefined),
    }, { log, keep: (p) => p.action === 'revoke-sessions' });
    expect(shown.map((p) => [p.action, p.note])).toEqual([['disable-ad-account', undefined], ['revoke-sessions', undefined]]);
    // The executor is asked with the stored alert's identifiers, not card data.
    expect(asked).toEqual(['disable-ad-account:S-1-5-21-1111-2222-3333-1104', 'reset-password:S-1-5-21-1111-2222-3333-1104']);
  });

  it('an executor that cannot answer leaves the buttons (the gate decides at the click) and is asked once per account', async () => {
    let calls = 0;
    const shown = await offerableProposals(alert, [proposal('disable-ad-account'), proposal('reset-password')], {
      async offerable() {
        calls++;
        throw new Error('Graph down');
      },
    }, { log });
    expect(shown.map((p) => p.action)).toEqual(['disable-ad-account', 'reset-password']);
    expect(calls).toBe(1);
  });

  it('a proposal for an account the alert does not carry is dropped', async () => {
    const shown = await offerableProposals(alert, [{ ...proposal('disable-ad-account'), target: 'sid:s-1-5-21-9-9-9-500' }], { offerable: async () => true }, { log });
    expect(shown).toEqual([]);
  });
});
