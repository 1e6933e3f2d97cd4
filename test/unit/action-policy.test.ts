import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTION_CATALOG, ACTION_NAMES, isDestructive, undoOf } from '../../src/actions/action-names.ts';
import { builtInPolicy, loadActionPolicy, parseActionPolicy, requiredApprovals } from '../../src/actions/action-policy.ts';
import defaultPolicyJson from '../../src/actions/default-policy.json' with { type: 'json' };
import type { ActionPolicy } from '../../src/actions/action-policy.ts';
import { matchPolicyRule, proposeActions } from '../../src/actions/propose-actions.ts';
import type { DirectoryCapabilities } from '../../src/actions/propose-actions.ts';
import { mapGraphAlert } from '../../src/adapters/graph/graph-alert-mapper.ts';
import { mapSecurityAlertRow } from '../../src/adapters/loganalytics/security-alert-mapper.ts';
import type { Alert } from '../../src/domain/alert.ts';
import { AppError } from '../../src/domain/errors.ts';
import { graphFixture, sentinelFixture } from '../fixtures/load.ts';

const ALL: DirectoryCapabilities = { activeDirectory: true, entra: true, okta: true };
const policy = loadActionPolicy();
const graph = (name: string): Alert => mapGraphAlert(graphFixture(name)).alert;

function writePolicy(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'policy-')), 'policy.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function configError(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('action catalog', () => {
  it('pairs every undo with its action both ways, and undo actions are not destructive', () => {
    for (const name of ACTION_NAMES) {
      const undo = undoOf(name);
      if (undo) {
        expect(ACTION_CATALOG[undo].undoes).toBe(name);
        expect(isDestructive(undo)).toBe(false);
        expect(isDestructive(name)).toBe(true);
      }
    }
    expect(undoOf('disable-ad-account')).toBe('enable-ad-account');
    expect(undoOf('suspend-okta')).toBe('unsuspend-okta');
    expect(undoOf('reset-password')).toBeUndefined();
  });
});

describe('loadActionPolicy', () => {
  it('loads the built-in default policy, version 1, reset-password needing 2 approvals', () => {
    expect(policy.version).toBe(1);
    expect(requiredApprovals(policy, 'reset-password')).toBe(2);
    expect(requiredApprovals(policy, 'revoke-sessions')).toBe(policy.approvals.default);
  });

  it('loads a valid override file instead of the default', () => {
    const file = writePolicy({ version: 1, approvals: { default: 2 }, rules: [], default: { actions: ['revoke-sessions'] } });
    const loaded = loadActionPolicy({ file });
    expect(loaded.maxTargetAccounts).toBe(3);
    expect(loaded.default.actions).toEqual(['revoke-sessions']);
    expect(requiredApprovals(loaded, 'reset-password')).toBe(2);
  });

  it.each([
    [{ ...structuredClone(base()), version: 2 }, 'version'],
    [{ ...structuredClone(base()), approvals: { default: 1, 'reset-pasword': 2 } }, 'approvals.reset-pasword'],
    [{ ...structuredClone(base()), approvals: { default: 0 } }, 'approvals.default'],
    [{ ...structuredClone(base()), rules: [{ name: 'x', title: ['a'], actions: ['disable-accnt'] }] }, 'rules[0].actions[0]'],
    [{ ...structuredClone(base()), rules: [{ name: 'x', actions: [] }] }, 'rules[0]'],
    [{ ...structuredClone(base()), surprise: true }, 'surprise'],
  ])('names the bad key in one sentence (%#)', (content, key) => {
    const error = configError(() => loadActionPolicy({ file: writePolicy(content) }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`'${key}'`);
    expect(error.message.trim().split(/\.\s+(?=[A-Z])/)).toHaveLength(1);
  });

  it('fails with a typed error on unreadable or non-JSON files', () => {
    expect(configError(() => loadActionPolicy({ file: '/nonexistent/policy.json' })).message).toMatch(/cannot be read/);
    expect(configError(() => loadActionPolicy({ file: writePolicy('{nope') })).message).toMatch(/not valid JSON/);
  });

  function base(): ActionPolicy {
    return parseActionPolicy({ version: 1, approvals: { default: 1 }, rules: [], default: { actions: [] } }, 'test');
  }
});

describe('proposeActions', () => {
  it('offers nothing for an alert without accounts', () => {
    expect(proposeActions(graph('recon-device-only'), policy, ALL)).toEqual([]);
  });

  it('targets only the compromised account of a two-account alert, never the attacker', () => {
    const proposals = proposeActions(graph('pass-the-ticket-two-accounts'), policy, ALL);
    expect(proposals.length).toBeGreaterThan(0);
    expect(new Set(proposals.map((proposal) => proposal.target))).toEqual(new Set(['sid:s-1-5-21-4000000001-4000000002-4000000003-1500']));
    expect(proposals.every((proposal) => proposal.rule === 'credential-theft')).toBe(true);
    // a.admin is synced (has a SID): Entra refuses accountEnabled for it, so no suspend-entra.
    expect(proposals.map((proposal) => proposal.action)).toEqual([
      'disable-ad-account',
      'reset-password',
      'revoke-sessions',
      'mark-compromised',
      'suspend-okta',
    ]);
    expect(proposals.find((proposal) => proposal.action === 'reset-password')?.requiredApprovals).toBe(2);
  });

  it('drops actions whose directory is not configured', () => {
    const alert = graph('pass-the-ticket-two-accounts');
    const actionsWith = (capabilities: DirectoryCapabilities) => proposeActions(alert, policy, capabilities).map((proposal) => proposal.action);
    expect(actionsWith({ activeDirectory: true, entra: false, okta: false })).toEqual(['disable-ad-account', 'reset-password']);
    expect(actionsWith({ activeDirectory: false, entra: true, okta: false })).toEqual(['revoke-sessions', 'mark-compromised']);
    expect(actionsWith({ activeDirectory: false, entra: false, okta: true })).toEqual(['suspend-okta']);
    expect(actionsWith({ activeDirectory: false, entra: false, okta: false })).toEqual([]);
  });

  it('offers no AD action to a cloud-only account, but Entra suspension', () => {
    const actions = proposeActions(graph('overpass-cloud-only'), policy, ALL).map((proposal) => proposal.action);
    expect(actions).toEqual(['revoke-sessions', 'mark-compromised', 'suspend-entra', 'suspend-okta']);
  });

  it('an operator policy naming force-password-reset-entra gets it for cloud-only accounts, never for synced ones (the catalog says cloudMasteredOnly)', () => {
    const withForce = parseActionPolicy({ version: 1, approvals: { default: 1 }, rules: [], default: { actions: ['force-password-reset-entra', 'reset-password'] } }, 'test');
    const cloud = proposeActions(graph('overpass-cloud-only'), withForce, ALL).map((proposal) => proposal.action);
    expect(cloud).toEqual(['force-password-reset-entra']);
    const synced = proposeActions(graph('pass-the-ticket-two-accounts'), withForce, ALL).map((proposal) => proposal.action);
    expect(synced).toEqual(['reset-password']);
  });

  it('offers no Entra or Okta action without an Entra id or UPN', () => {
    const alert = mapSecurityAlertRow(sentinelFixture('ref-entities-mdi-name')).alert;
    const proposals = proposeActions(alert, policy, ALL);
    const forSvc = proposals.filter((proposal) => proposal.target === 'sam:corp\\svc backup').map((proposal) => proposal.action);
    expect(forSvc).toEqual(['disable-ad-account']);
    const forEve = proposals.filter((proposal) => proposal.target === 'entra:3c4d5e6f-7777-4a8b-9c0d-1e2f3a4b5c6d').map((proposal) => proposal.action);
    expect(forEve).toEqual(['suspend-entra', 'revoke-sessions', 'mark-compromised', 'suspend-okta']);
  });

  it('never targets machine accounts or krbtgt', () => {
    expect(proposeActions(graph('golden-ticket-machine-and-krbtgt'), policy, ALL)).toEqual([]);
  });

  it('offers nothing when more accounts are affected than the policy allows (no bulk)', () => {
    const alert = graph('brute-force');
    const template = alert.accounts[0]!;
    alert.accounts = Array.from({ length: policy.maxTargetAccounts + 1 }, (_, index) => ({
      ...template,
      sid: `S-1-5-21-1-2-3-${2000 + index}`,
      samAccountName: `user${index}`,
      userPrincipalName: `user${index}@contoso.com`,
      entraObjectId: undefined,
    }));
    expect(proposeActions(alert, policy, ALL)).toEqual([]);
    alert.accounts = alert.accounts.slice(0, policy.maxTargetAccounts);
    expect(new Set(proposeActions(alert, policy, ALL).map((proposal) => proposal.target)).size).toBe(policy.maxTargetAccounts);
  });

  it('matches rules by title, category or detector keyword, first match wins, else the default', () => {
    const alert = (fields: Partial<Alert>): Alert => ({ ...graph('brute-force'), ...fields });
    expect(matchPolicyRule(alert({ title: 'Suspected Golden Ticket usage (nonexistent account)' }), policy).name).toBe('domain-dominance');
    expect(matchPolicyRule(alert({ title: 'Honeytoken authentication activity' }), policy).name).toBe('honeytoken');
    expect(matchPolicyRule(alert({ title: 'Something new', category: 'LateralMovement' }), policy).name).toBe('credential-theft');
    expect(matchPolicyRule(alert({ title: 'Something new', category: 'Impact', detectorId: undefined }), policy)).toEqual({
      name: 'default',
      actions: policy.default.actions,
    });
    const custom = parseActionPolicy(
      { version: 1, approvals: { default: 1 }, rules: [{ name: 'by-detector', detector: ['7E6F5A4B'], actions: ['revoke-sessions'] }], default: { actions: [] } },
      'test',
    );
    expect(matchPolicyRule(graph('brute-force'), custom).name).toBe('by-detector');
  });
});

describe('the built-in policy', () => {
  it('is exactly what the schema reads from default-policy.json (a start without a policy file skips the validator)', () => {
    expect(builtInPolicy()).toEqual(parseActionPolicy(defaultPolicyJson, 'built-in default-policy.json'));
    expect(loadActionPolicy()).toEqual(builtInPolicy());
  });
  it('is a fresh copy each time: a caller changing it changes nobody else', () => {
    const one = builtInPolicy();
    one.rules.length = 0;
    expect(builtInPolicy().rules.length).toBeGreaterThan(0);
  });
});
