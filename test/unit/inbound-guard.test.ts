import type { TurnContext } from 'botbuilder';
import { describe, expect, it } from 'vitest';
import { createMemberCheck } from '../../src/bot/member-check.ts';
import { createReplayGuard, replayKey } from '../../src/bot/replay-guard.ts';
import { jsonDepth, parseJsonBody } from '../../src/http/json-body.ts';
import { isLoopbackHost, isLoopbackUrl } from '../../src/shared/loopback.ts';

/** The small pieces of issue 11's inbound checks, each against its own edge cases. */

describe('replay guard', () => {
  it('admits an activity once, says a copy is running or done, and forgets it after the window', () => {
    let now = 0;
    const guard = createReplayGuard({ windowMs: 1000, now: () => now });
    const key = replayKey('msteams', 'a:1', 'act-1');
    expect(guard.admit(key)).toBe('first');
    expect(guard.admit(key)).toBe('running');
    guard.finish(key);
    expect(guard.admit(key)).toBe('done');
    expect(guard.admit(replayKey('msteams', 'a:2', 'act-1'))).toBe('first');
    now = 1001;
    expect(guard.admit(key)).toBe('first');
  });

  it('stays bounded: past its capacity the oldest entries are forgotten first', () => {
    const guard = createReplayGuard({ maxEntries: 100 });
    for (let i = 0; i < 1000; i++) guard.admit(replayKey('msteams', 'c', String(i)));
    expect(guard.size()).toBeLessThanOrEqual(100);
    expect(guard.admit(replayKey('msteams', 'c', '999'))).toBe('running');
    expect(guard.admit(replayKey('msteams', 'c', '0'))).toBe('first');
  });
});

describe('member check', () => {
  const context = (from: Record<string, unknown>, conversation = 'a:1') => ({ activity: { serviceUrl: 'https://127.0.0.1/', conversation: { id: conversation }, from } }) as unknown as TurnContext;
  const alice = { id: '29:1alice', aadObjectId: 'AAAAAAAA-0000-4000-8000-000000000001' };

  it('same member: same; another member or none: mismatch; object ids compared case-insensitively', async () => {
    const check = createMemberCheck({ lookup: async (_c, userId) => (userId === alice.id ? alice.aadObjectId.toLowerCase() : undefined) });
    expect(await check.confirm(context(alice))).toBe('same');
    expect(await check.confirm(context({ ...alice, aadObjectId: 'bbbbbbbb-0000-4000-8000-000000000002' }))).toBe('mismatch');
    expect(await check.confirm(context({ id: '29:1ghost', aadObjectId: alice.aadObjectId }))).toBe('mismatch');
    expect(await check.confirm(context({ id: alice.id }))).toBe('mismatch');
  });

  it('asks the connector once per person and conversation within the cache time, again after it', async () => {
    let now = 0;
    let asked = 0;
    const check = createMemberCheck({ ttlMs: 1000, now: () => now, lookup: async () => (asked++, alice.aadObjectId.toLowerCase()) });
    await check.confirm(context(alice));
    await check.confirm(context(alice));
    expect(asked).toBe(1);
    await check.confirm(context(alice, 'a:2'));
    expect(asked).toBe(2);
    now = 1001;
    await check.confirm(context(alice));
    expect(asked).toBe(3);
  });

  it('fails closed: a connector error or a lookup slower than the timeout is "unknown", not "same"', async () => {
    const failing = createMemberCheck({ lookup: async () => Promise.reject(new Error('503')) });
    expect(await failing.confirm(context(alice))).toBe('unknown');
    const slow = createMemberCheck({ timeoutMs: 50, lookup: () => new Promise((r) => setTimeout(() => r(alice.aadObjectId.toLowerCase()), 500)) });
    expect(await slow.confirm(context(alice))).toBe('unknown');
  });
});

describe('JSON body and loopback rules', () => {
  it('measures nesting outside strings only, and refuses deep or non-UTF-8 bodies', () => {
    expect(jsonDepth('{"a":[{"b":"[[[[[["}]}')).toBe(3);
    expect(jsonDepth('"\\"[[["')).toBe(0);
    expect(() => parseJsonBody(Buffer.from('['.repeat(33) + ']'.repeat(33)))).toThrow(/nested deeper/);
    expect(parseJsonBody(Buffer.from('['.repeat(32) + ']'.repeat(32)))).toBeDefined();
    expect(() => parseJsonBody(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow(/UTF-8/);
    expect(() => parseJsonBody(Buffer.from('{"a":'))).toThrow(/not valid JSON/);
  });

  it('loopback is 127.0.0.0/8, ::1 and localhost, taken literally', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '[::1]', '::1', 'localhost.']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['127.0.0.1.nip.io', '127.0.0.256', '0.0.0.0', '10.0.0.1', 'localhost.attacker.example', '[::ffff:7f00:1]', '']) expect(isLoopbackHost(host), host).toBe(false);
    expect(isLoopbackUrl('ldaps://127.0.0.1:636')).toBe(true);
    expect(isLoopbackUrl('https://user@127.0.0.1.attacker.example/')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });
});
