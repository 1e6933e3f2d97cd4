import { describe, expect, it } from 'vitest';
import { renderAlertMessage } from '../../src/cards/alert-message.ts';
import type { AlertRecord } from '../../src/domain/ports/alert-store.ts';
import type { Escalation } from '../../src/domain/ports/escalation-store.ts';
import { cardButtons, cardText, identityTheftAlert } from '../support/approval-harness.ts';
import { checkTeamsCard } from '../support/card-rules.ts';

/** The owner and escalation line of the alert card (issue 15): small, one line, and "Take it" only while nobody owns it. */
const at = (hhmm: string) => new Date(`2026-03-01T${hhmm}:00.000Z`);

function record(overrides: Partial<AlertRecord> = {}): AlertRecord {
  const alert = identityTheftAlert();
  return {
    key: alert.key, code: 'K7M2QX', alert, fingerprint: 'fp', severity: 'high', status: 'new', accountKeys: [], firstSeenAt: at('03:00'), changedAt: at('03:00'),
    postState: 'posted', updateRequested: 0, updateApplied: 0, ...overrides,
  };
}

function escalation(overrides: Partial<Escalation>): Escalation {
  return { alertKey: 'alert-1', step: 'done', dueAt: at('03:30'), pagedVia: [], attempts: 0, ...overrides };
}

function render(r: AlertRecord, e?: Escalation) {
  return renderAlertMessage({ record: r, proposals: [], state: { approvals: [], paused: false, ...(e ? { escalation: e } : {}) }, dryRun: false, ttlMinutes: 240 }).card!;
}

describe('alert card: owner and escalation', () => {
  it('unowned: Take it (Action.Execute with a Submit fallback), carrying the alert key and code only; no owner line', () => {
    const card = render(record());
    const take = cardButtons(card).find((b) => b.verb === 'take');
    expect(take).toEqual({ verb: 'take', title: 'Take it', data: { alertKey: 'alert-1', code: 'K7M2QX' } });
    expect(JSON.stringify(card)).toContain('"fallback":{"type":"Action.Submit","title":"Take it","data":{"verb":"take","alertKey":"alert-1","code":"K7M2QX"}}');
    expect(cardText(card)).not.toContain('Owner:');
    expect(checkTeamsCard(card)).toEqual([]);
  });

  it('owned: the owner and the escalation state on one small line, no Take it', () => {
    const card = render(record({ owner: { id: 'a', name: 'Alice Example', since: at('03:10') } }), escalation({ remindedAt: at('03:02'), pagedAt: at('03:05'), pageResolvedAt: at('03:10') }));
    expect(cardText(card)).toContain('Owner: Alice Example since 03:10 UTC · Paged on-call at 03:05 UTC (resolved)');
    expect(cardButtons(card).some((b) => b.verb === 'take')).toBe(false);
    expect(checkTeamsCard(card)).toEqual([]);
  });

  it('reminded, not paged; an owner name with markup stays text', () => {
    expect(cardText(render(record(), escalation({ remindedAt: at('03:02') })))).toContain('On-call reminded at 03:02 UTC');
    const hostile = cardText(render(record({ owner: { id: 'm', name: '[Click](https://evil.example) *boss*', since: at('04:00') } })));
    expect(hostile).toContain('Owner: \\[Click\\](https://evil.example) \\*boss\\* since 04:00 UTC');
  });

  it('a resolved alert offers no Take it', () => {
    const alert = { ...identityTheftAlert(), status: 'resolved' as const };
    expect(cardButtons(render(record({ alert, status: 'resolved' }))).some((b) => b.verb === 'take')).toBe(false);
  });
});
