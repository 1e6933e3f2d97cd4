import { describe, expect, it } from 'vitest';
import type { ApproverCheck } from '../../src/domain/ports/approver-check.ts';
import { createRateLimiter } from '../../src/commands/rate-limit.ts';
import { createUserListReaderCheck, readAccess } from '../../src/commands/reader-check.ts';
import type { ReaderCheck } from '../../src/domain/ports/reader-check.ts';
import type { Actor } from '../../src/domain/ports/chat.ts';
import { AppError } from '../../src/domain/errors.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';

/**
 * The reader decision and the rate limit as units (the ports faked); the same rules through the
 * real bot, Graph and Teams activities are in test/integration/commands-readers.test.ts.
 */
const log = captureLogger().logger;
const PAT: Actor = { id: '29:pat', aadObjectId: '12121212-1111-4222-8333-444455556666', name: 'Pat' };

const answers = (answer: boolean | 'fails'): { isApprover: ApproverCheck['isApprover']; isReader: ReaderCheck['isReader'] } => {
  const ask = async () => {
    if (answer === 'fails') throw new AppError('UPSTREAM_FORBIDDEN', 'Graph refused.');
    return answer;
  };
  return { isApprover: ask, isReader: ask };
};
const approverCheck = (answer: boolean | 'fails'): ApproverCheck => ({ configured: true, isApprover: answers(answer).isApprover });
const readerCheck = (answer: boolean | 'fails', configured = true): ReaderCheck => ({ configured, isReader: answers(answer).isReader });

describe('readAccess: approvers always read, readers as configured, fail closed', () => {
  it.for([
    ['approver', approverCheck(true), undefined, { allowed: true }],
    ['reader, not approver', approverCheck(false), readerCheck(true), { allowed: true }],
    ['neither', approverCheck(false), readerCheck(false), { allowed: false, unchecked: false }],
    ['no reader configured: approvers only', approverCheck(false), readerCheck(true, false), { allowed: false, unchecked: false }],
    ['no checks at all', undefined, undefined, { allowed: false, unchecked: false }],
    ['approver check fails, reader says yes', approverCheck('fails'), readerCheck(true), { allowed: true }],
    ['approver check fails, no readers', approverCheck('fails'), undefined, { allowed: false, unchecked: true }],
    ['reader check fails', approverCheck(false), readerCheck('fails'), { allowed: false, unchecked: true }],
  ] as const)('%s', async ([, approvers, readers, expected]) => {
    expect(await readAccess(PAT, { approvers, readers, log })).toEqual(expected);
  });

  it('READER_USER_IDS compares Entra object ids case-insensitively and never matches a missing id', async () => {
    const check = createUserListReaderCheck([PAT.aadObjectId!.toUpperCase()]);
    expect(await check.isReader(PAT, { log })).toBe(true);
    expect(await check.isReader({ id: PAT.id, name: PAT.name }, { log })).toBe(false);
    expect(createUserListReaderCheck([]).configured).toBe(false);
  });
});

describe('the per-person rate limit', () => {
  it('allows N per sliding minute per person and says how long until the oldest leaves the window', () => {
    const clock = { now: new Date('2026-12-03T10:00:00Z') };
    const limiter = createRateLimiter({ perMinute: 2, now: () => clock.now });
    const later = (ms: number) => (clock.now = new Date(clock.now.getTime() + ms));
    expect(limiter.take('pat')).toEqual({ allowed: true });
    later(10_000);
    expect(limiter.take('pat')).toEqual({ allowed: true });
    expect(limiter.take('sam')).toEqual({ allowed: true });
    later(5_000);
    expect(limiter.take('pat')).toEqual({ allowed: false, used: 2, retryAfterMs: 45_000 });
    // A refused attempt is not counted: once the first use leaves the window, one more fits.
    later(45_000);
    expect(limiter.take('pat')).toEqual({ allowed: true });
    expect(limiter.take('pat')).toEqual({ allowed: false, used: 2, retryAfterMs: 10_000 });
  });
});
