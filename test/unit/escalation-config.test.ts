import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

const base = { BOT_AUTH: 'off', ALERT_SOURCES: 'none', DATABASE_URL: 'sqlite::memory:', BOT_LAB_SECRET: 'a-lab-secret-of-at-least-24-chars' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('ESCALATION_POLICY and the on-call tools', () => {
  it('reads the policy: per severity, mentions of people and tags, leads, the tools', () => {
    const config = loadConfig({
      ...base,
      ESCALATION_POLICY: JSON.stringify({ high: { remindAfterMinutes: 10, pageAfterMinutes: 30 }, medium: { remindAfterMinutes: 60 }, mention: [{ user: '4D4D4D4D-0000-4222-8333-444455556666', name: 'Dana' }, { tag: 'tag-1', name: 'SOC on-call' }], remindBeforeExpiryMinutes: 30 }),
      PAGERDUTY_ROUTING_KEY: 'k'.repeat(32),
      PAGERDUTY_EVENTS_URL: 'https://127.0.0.1:9443',
      LEAD_USER_IDS: '5c5c5c5c-1111-4222-8333-444455556666',
    });
    expect(config.escalation).toEqual({
      bySeverity: { high: { remindAfterMinutes: 10, pageAfterMinutes: 30 }, medium: { remindAfterMinutes: 60 } },
      mention: [{ kind: 'user', id: '4D4D4D4D-0000-4222-8333-444455556666', name: 'Dana' }, { kind: 'tag', id: 'tag-1', name: 'SOC on-call' }],
      remindBeforeExpiryMinutes: 30,
    });
    expect(config.leads).toEqual({ groupIds: [], userIds: ['5c5c5c5c-1111-4222-8333-444455556666'] });
    expect(config.pagerDuty?.eventsUrl).toBe('https://127.0.0.1:9443');
    expect(String(config.pagerDuty?.routingKey)).toBe('[redacted]');
    expect(config.opsgenie).toBeUndefined();
    expect(config.escalationSweepSeconds).toBe(30);
  });

  it('unset: no escalation at all', () => {
    expect(loadConfig(base).escalation).toEqual({ bySeverity: {}, mention: [] });
  });

  it.each([
    ['not JSON', '{high:', /must be JSON/],
    ['an unknown key', JSON.stringify({ critical: { remindAfterMinutes: 1 } }), /ESCALATION_POLICY: \(top level\)|critical/],
    ['a negative time', JSON.stringify({ high: { remindAfterMinutes: -1 } }), /high\.remindAfterMinutes/],
    ['a page before the reminder', JSON.stringify({ high: { remindAfterMinutes: 30, pageAfterMinutes: 10 } }), /pageAfterMinutes must be later/],
    ['a page without an on-call tool', JSON.stringify({ high: { pageAfterMinutes: 30 } }), /needs an on-call tool/],
    ['a mention that is neither object id nor Teams id', JSON.stringify({ high: { remindAfterMinutes: 5 }, mention: [{ user: 'jdoe@corp', name: 'J' }] }), /must be an Entra object id/],
  ])('refuses %s with one line naming the key', (_what, value, message) => {
    const found = problems({ ESCALATION_POLICY: value, ...(value.includes('pageAfterMinutes":10') ? { PAGERDUTY_ROUTING_KEY: 'k'.repeat(32), PAGERDUTY_EVENTS_URL: 'https://127.0.0.1:9443' } : {}) });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^ESCALATION_POLICY/);
    expect(found[0]).toMatch(message);
  });

  it('the lab mode refuses a pager that is not on this machine', () => {
    expect(problems({ PAGERDUTY_ROUTING_KEY: 'k'.repeat(32) }).join('\n')).toMatch(/PAGERDUTY_EVENTS_URL points at events\.pagerduty\.com/);
  });
});
