import { describe, expect, it } from 'vitest';
import { describeChanges, parseSnapshot, snapshotOf } from '../../src/notifier/card-snapshot.ts';
import { makeAccount, makeAlert } from '../support/store-contract.ts';

// Card snapshots live in the audit (append-only, never rewritten): one written before the account
// keys were unified holds unprefixed keys and must still be compared in today's form.
describe('card snapshots across the account-key unification', () => {
  const alert = makeAlert('a1', { accounts: [makeAccount()] });

  it('reads an old snapshot of the same account as the same account (no spurious "new evidence")', () => {
    const written = JSON.parse(JSON.stringify({ ...snapshotOf(alert), accounts: [['s-1-5-21-1111-2222-3333-1104', 'corp\\jdoe', 'jdoe@corp.example']] }));
    const before = parseSnapshot(written);
    expect(before?.accounts).toEqual([['sid:s-1-5-21-1111-2222-3333-1104', 'sam:corp\\jdoe', 'upn:jdoe@corp.example']]);
    expect(describeChanges(before!, snapshotOf(alert))).toEqual([]);
  });

  it('still notices a person the old snapshot did not have', () => {
    const before = parseSnapshot({ ...snapshotOf(alert), accounts: [['corp\\jdoe']] })!;
    const after = snapshotOf(makeAlert('a1', { accounts: [makeAccount(), makeAccount({ samAccountName: 'other', sid: 'S-1-5-21-1111-2222-3333-1200', userPrincipalName: 'other@corp.example' })] }));
    expect(describeChanges(before, after)).toEqual(['New evidence: 1 account']);
  });

  it('keeps a key it cannot place as it was (compared as is, never dropped)', () => {
    expect(parseSnapshot({ ...snapshotOf(alert), accounts: [['something-else']] })?.accounts).toEqual([['something-else']]);
  });
});
