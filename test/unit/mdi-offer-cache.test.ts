import { describe, expect, it } from 'vitest';
import { createMdiRemediation } from '../../src/adapters/graph/mdi-remediation.ts';
import type { MdiIdentity, MdiIdentityAccounts } from '../../src/adapters/graph/mdi-identity-accounts.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';

// What MDI listed for a person decides which buttons a card shows; it is reused for a short while
// (offerCacheMs) and the reuse is bounded by count, so an alert storm over many accounts cannot
// grow the bot's memory. The identityAccounts port is faked: only the adapter's own caching is tested.
describe('MDI offer cache', () => {
  const opts = { log: captureLogger().logger };
  function setup(entries: number) {
    const asked: string[] = [];
    const accounts: MdiIdentityAccounts = {
      async find(target) {
        asked.push(target.accountKey);
        return { id: `id-${target.accountKey}`, accounts: [{ identifier: target.accountKey, identityProvider: 'activeDirectory', actions: ['disable'] }] } satisfies MdiIdentity;
      },
      invoke: async () => ({}),
    };
    let clock = 0;
    const remediation = createMdiRemediation({ accounts, offerCacheMs: 20_000, offerCacheEntries: entries, now: () => clock });
    const offer = (key: string) => remediation.offerable!('disable-ad-account', { accountKey: key }, opts);
    return { asked, offer, advance: (ms: number) => (clock += ms) };
  }

  it('asks MDI once per person within the reuse window, again after it', async () => {
    const { asked, offer, advance } = setup(10);
    expect(await offer('sid:a')).toBe(true);
    expect(await offer('sid:a')).toBe(true);
    expect(asked).toEqual(['sid:a']);
    advance(20_001);
    await offer('sid:a');
    expect(asked).toEqual(['sid:a', 'sid:a']);
  });

  it('keeps at most its size: past it, the oldest person is forgotten (asked again), the newer ones are not', async () => {
    const { asked, offer } = setup(3);
    for (const key of ['sid:1', 'sid:2', 'sid:3', 'sid:4']) await offer(key);
    asked.length = 0;
    await offer('sid:4');
    await offer('sid:3');
    await offer('sid:2');
    expect(asked).toEqual([]);
    await offer('sid:1');
    expect(asked).toEqual(['sid:1']);
  });
});
