import { describe, expect, it } from 'vitest';
import { approvedComment, closedComment, commentPart, deniedComment, resultComment } from '../../src/writeback/comments.ts';
import { writebackLine } from '../../src/cards/alert-message.ts';
import { closeOutcomeOf, CLOSE_OUTCOMES, ALERT_CLASSIFICATIONS, ALERT_DETERMINATIONS } from '../../src/domain/defender-outcomes.ts';

const AT = new Date('2026-12-03T21:05:42.123Z');

describe('write-back comments', () => {
  it('say who, what, when and why', () => {
    expect(approvedComment('Disable AD account for CORP\\jdoe', 'Alice, Bob', AT)).toBe('incident-bot: Disable AD account for CORP\\jdoe approved by Alice, Bob at 2026-12-03 21:05 UTC.');
    expect(deniedComment('Reset AD password for CORP\\jdoe', 'Bob', 'pen test', AT)).toBe('incident-bot: Reset AD password for CORP\\jdoe denied by Bob at 2026-12-03 21:05 UTC. Reason: "pen test".');
    expect(deniedComment('x', 'Bob', undefined, AT)).toMatch(/No reason given\.$/);
    expect(resultComment('failed', 'Disable failed: LDAP down', AT)).toBe('incident-bot: action failed at 2026-12-03 21:05 UTC: Disable failed: LDAP down');
    expect(closedComment(closeOutcomeOf('falsePositive/clean')!, 'Carol', AT)).toBe('incident-bot: closed by Carol at 2026-12-03 21:05 UTC as False positive: not malicious (falsePositive/clean).');
  });

  it('flatten hostile user text: control and bidi characters gone, newlines flattened, length capped', () => {
    const hostile = `line1\nline2\u0000\u001b[2J\u202eevil\u2066 ${'x'.repeat(5_000)}`;
    const part = commentPart(hostile);
    // eslint-disable-next-line no-control-regex
    expect(part).not.toMatch(/[\u0000-\u001f\u202e\u2066]/);
    expect(part.startsWith('line1 line2 [2J evil')).toBe(true);
    expect(part.length).toBe(500);
    const whole = deniedComment('x'.repeat(3_000), 'y'.repeat(3_000), hostile, AT);
    expect(whole.length).toBeLessThanOrEqual(1_000);
  });
});

describe('close outcomes', () => {
  it('offer only Defender enum members, each pair once, and refuse anything else', () => {
    for (const o of CLOSE_OUTCOMES) {
      expect(ALERT_CLASSIFICATIONS).toContain(o.classification);
      expect(ALERT_DETERMINATIONS).toContain(o.determination);
      expect(o.classification).not.toMatch(/unknown/);
    }
    expect(new Set(CLOSE_OUTCOMES.map((o) => o.value)).size).toBe(CLOSE_OUTCOMES.length);
    for (const bad of ['truePositive/clean', 'unknown/unknown', 'truePositive', '', 42, null, { value: 'truePositive/apt' }]) expect(closeOutcomeOf(bad)).toBeUndefined();
  });
});

describe('the card write-back line', () => {
  it('is short, names an error by its code only, and is empty when nothing was written', () => {
    expect(writebackLine(undefined)).toBe('');
    expect(writebackLine({ pending: 0, failed: 0, sent: 0 })).toBe('');
    expect(writebackLine({ pending: 0, failed: 0, sent: 3 })).toBe('Defender: up to date');
    expect(writebackLine({ pending: 2, failed: 0, sent: 1, lastErrorCode: 'UPSTREAM_ERROR' })).toBe('Defender: 2 updates waiting, retrying (UPSTREAM_ERROR)');
    expect(writebackLine({ pending: 1, failed: 0, sent: 0 })).toBe('Defender: 1 update waiting');
    expect(writebackLine({ pending: 0, failed: 1, sent: 2, lastErrorCode: 'UPSTREAM_FORBIDDEN' })).toBe('Defender: 1 update not written back (UPSTREAM_FORBIDDEN)');
  });
});
