import { describe, expect, it } from 'vitest';
import { ACTION_CATALOG, ACTION_NAMES, type ActionName } from '../../src/actions/action-names.ts';
import { createRemediationRouter } from '../../src/actions/remediation-router.ts';
import { targetIdentity, targetLabel } from '../../src/domain/target-identity.ts';
import { AppError } from '../../src/domain/errors.ts';
import { remediationOf, type ActionHandler, type ActionTarget, type Remediation, type SystemActions, type TargetInspection } from '../../src/domain/remediation.ts';
import { Secret } from '../../src/observability/logger.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';

/** A fake per system that records which actions reached it. */
function fake(system: string, calls: string[], fail?: AppError): Remediation {
  const mine = (action: ActionName) => ACTION_CATALOG[action].system === system;
  return {
    supports: mine,
    async inspect(action) {
      calls.push(`${system}:inspect:${action}`);
      return { found: true, privileged: false, reasons: [] };
    },
    async run(action, target, options) {
      calls.push(`${system}:run:${action}`);
      if (fail) throw fail;
      options.log.info('inside the implementation');
      return {
        summary: `${options.dryRun ? 'DRY RUN: would ' : ''}${action} ${target.accountKey}`,
        details: { system },
        ...(action === 'reset-password' ? { temporaryPassword: new Secret('Tmp-Pa55word!xyz') } : {}),
      };
    },
    async readBack(action) {
      calls.push(`${system}:readBack:${action}`);
      return 'applied';
    },
  };
}

describe('remediation router', () => {
  it('sends every action to the system ACTION_CATALOG names', async () => {
    const calls: string[] = [];
    const { logger } = captureLogger();
    const router = createRemediationRouter({ activeDirectory: fake('activeDirectory', calls), entra: fake('entra', calls), okta: fake('okta', calls) });
    for (const action of ACTION_NAMES) {
      expect(router.supports(action)).toBe(true);
      await router.run(action, { accountKey: 'sam:corp\\jdoe' }, { dryRun: false, log: logger });
    }
    expect(calls).toEqual(ACTION_NAMES.map((action) => `${ACTION_CATALOG[action].system}:run:${action}`));
    expect(await router.readBack('suspend-okta', { accountKey: 'upn:a@b.c' }, { log: logger })).toBe('applied');
    expect(await router.inspect('revoke-sessions', { accountKey: 'upn:a@b.c' }, { log: logger })).toMatchObject({ found: true });
    // Protection is about the person: after its own system, AD is asked about the same account too.
    expect(calls.slice(-3)).toEqual(['okta:readBack:suspend-okta', 'entra:inspect:revoke-sessions', 'activeDirectory:inspect:disable-ad-account']);
  });

  it('supports only configured systems and says which one is missing', async () => {
    const calls: string[] = [];
    const { logger } = captureLogger();
    const router = createRemediationRouter({ activeDirectory: fake('activeDirectory', calls) });
    expect(ACTION_NAMES.filter((a) => router.supports(a))).toEqual(['disable-ad-account', 'enable-ad-account', 'reset-password']);
    expect(router.supports('no-such-action' as ActionName)).toBe(false);
    const error = (await router.run('suspend-okta', { accountKey: 'upn:a@b.c' }, { dryRun: false, log: logger }).catch((e: unknown) => e)) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect([error.code, error.message]).toEqual(['CONFIG_INVALID', 'The bot is not connected to Okta, so it cannot run suspend-okta.']);
    const unknown = (await router.run('format-c' as ActionName, { accountKey: 'upn:a@b.c' }, { dryRun: false, log: logger }).catch((e: unknown) => e)) as AppError;
    expect(unknown.code).toBe('INPUT_INVALID');
    expect(calls).toEqual([]);
  });

  it('logs one line per run with the outcome, never the temporary password', async () => {
    const calls: string[] = [];
    const capture = captureLogger();
    const router = createRemediationRouter({ activeDirectory: fake('activeDirectory', calls) });
    const result = await router.run('reset-password', { accountKey: 'sam:corp\\jdoe' }, { dryRun: false, log: capture.logger });
    expect(result.temporaryPassword?.reveal()).toBe('Tmp-Pa55word!xyz');
    const finished = capture.lines().find((l) => l.msg === 'action finished');
    expect(finished).toMatchObject({ action: 'reset-password', system: 'activeDirectory', accountKey: 'sam:corp\\jdoe', summary: 'reset-password sam:corp\\jdoe' });
    // The implementation's own lines carry the action context too.
    expect(capture.lines().find((l) => l.msg === 'inside the implementation')).toMatchObject({ action: 'reset-password' });
    expect(capture.text()).not.toContain('Tmp-Pa55word');

    const failing = createRemediationRouter({ entra: fake('entra', calls, new AppError('UPSTREAM_FORBIDDEN', 'The app may not revoke sessions.', { details: { status: 403 } })) });
    await expect(failing.run('revoke-sessions', { accountKey: 'upn:a@b.c' }, { dryRun: false, log: capture.logger })).rejects.toMatchObject({ code: 'UPSTREAM_FORBIDDEN' });
    expect(capture.lines().find((l) => l.msg === 'action failed')).toMatchObject({ code: 'UPSTREAM_FORBIDDEN', reason: 'The app may not revoke sessions.', details: { status: 403 } });
  });
});

describe('target identity', () => {
  it('reads identifiers from the account key, explicit fields first', () => {
    expect(targetIdentity({ accountKey: 'sam:corp\\jdoe' })).toEqual({ samAccountName: 'jdoe', domain: 'CORP' });
    expect(targetIdentity({ accountKey: 'sid:s-1-5-21-1-2-3-1104' })).toEqual({ sid: 'S-1-5-21-1-2-3-1104' });
    expect(targetIdentity({ accountKey: 'upn:jdoe@corp.example.test', entraObjectId: 'ABC' })).toEqual({ userPrincipalName: 'jdoe@corp.example.test', entraObjectId: 'abc' });
    expect(targetIdentity({ accountKey: 'sam:jdoe', samAccountName: 'JDoe', domain: 'corp' })).toEqual({ samAccountName: 'JDoe', domain: 'CORP' });
    expect(targetLabel({ accountKey: 'sam:jdoe' }, 'corp')).toBe('CORP\\jdoe');
    expect(targetLabel({ accountKey: 'upn:x@y.z' })).toBe('x@y.z');
  });
});

/** A system whose inspect answers `answer` (or fails) and records the target it was asked about. */
function inspecting(system: string, answer: TargetInspection | AppError | 'hang', seen: Array<[string, ActionTarget]>): Remediation {
  return {
    supports: (action) => ACTION_CATALOG[action].system === system,
    async inspect(action, target) {
      seen.push([`${system}:${action}`, target]);
      if (answer === 'hang') return new Promise<TargetInspection>(() => undefined);
      if (answer instanceof AppError) throw answer;
      return answer;
    },
    run: () => Promise.reject(new Error('not in this test')),
    readBack: () => Promise.resolve('unknown'),
  };
}

describe('remediation router: protection is about the person (issue 4)', () => {
  const { logger } = captureLogger();
  const padminAd: TargetInspection = {
    found: true,
    privileged: true,
    reasons: ['adminCount=1 (protected by AdminSDHolder)', 'member of Domain Admins'],
    identities: [{ system: 'activeDirectory', dn: 'CN=Paula Admin,OU=Staff,DC=corp,DC=example,DC=test', sid: 'S-1-5-21-1-2-3-1110', samAccountName: 'padmin', domain: 'CORP', userPrincipalName: 'padmin@corp.example.test' }],
  };
  const plainEntra: TargetInspection = { found: true, privileged: false, reasons: [], syncedFromAd: true, identities: [{ system: 'entra', entraObjectId: 'e1e1e1e1-0000-4000-8000-000000000001', userPrincipalName: 'padmin@corp.example.test' }] };

  it('a Domain Admin is privileged for revoke-sessions and suspend-okta too: AD is asked whatever the system', async () => {
    const seen: Array<[string, ActionTarget]> = [];
    const router = createRemediationRouter({ activeDirectory: inspecting('activeDirectory', padminAd, seen), entra: inspecting('entra', plainEntra, seen), okta: inspecting('okta', { found: true, privileged: false, reasons: [] }, seen) });
    const revoke = await router.inspect('revoke-sessions', { accountKey: 'entra:e1e1e1e1-0000-4000-8000-000000000001' }, { log: logger });
    expect(revoke).toMatchObject({ found: true, privileged: true, syncedFromAd: true, reasons: ['adminCount=1 (protected by AdminSDHolder) (Active Directory)', 'member of Domain Admins (Active Directory)'] });
    expect(revoke.identities?.map((i) => i.system)).toEqual(['entra', 'activeDirectory']);
    // AD was asked with the UPN Entra found (the target carried only the Entra object id).
    expect(seen.map(([call]) => call)).toEqual(['entra:revoke-sessions', 'activeDirectory:disable-ad-account']);
    expect(seen[1]?.[1]).toEqual({ accountKey: 'entra:e1e1e1e1-0000-4000-8000-000000000001', userPrincipalName: 'padmin@corp.example.test' });

    seen.length = 0;
    const suspend = await router.inspect('suspend-okta', { accountKey: 'upn:padmin@corp.example.test' }, { log: logger });
    expect(suspend).toMatchObject({ found: true, privileged: true });
    // Okta itself, then AD and Entra; Okta is never asked as a second opinion (it cannot judge privilege).
    expect(seen.map(([call]) => call)).toEqual(['okta:suspend-okta', 'activeDirectory:disable-ad-account', 'entra:mark-compromised']);
  });

  it('an AD action on someone Entra calls privileged is privileged; Entra is found by the UPN AD returned for a SID-only alert', async () => {
    const seen: Array<[string, ActionTarget]> = [];
    const adPlain: TargetInspection = { ...padminAd, privileged: false, reasons: [] };
    const entraTier0: TargetInspection = { ...plainEntra, privileged: true, reasons: ['member of the privileged Entra group Tier 0 Admins'] };
    const router = createRemediationRouter({ activeDirectory: inspecting('activeDirectory', adPlain, seen), entra: inspecting('entra', entraTier0, seen) });
    const result = await router.inspect('disable-ad-account', { accountKey: 'sid:s-1-5-21-1-2-3-1110' }, { log: logger });
    expect(result).toMatchObject({ found: true, privileged: true, reasons: ['member of the privileged Entra group Tier 0 Admins (Entra ID)'] });
    expect(result.syncedFromAd).toBeUndefined();
    expect(seen[1]).toEqual(['entra:mark-compromised', expect.objectContaining({ userPrincipalName: 'padmin@corp.example.test', samAccountName: 'padmin', domain: 'CORP' })]);
  });

  it('a check that cannot answer fails the inspection with the reason (error or timeout), never "not privileged"', async () => {
    const seen: Array<[string, ActionTarget]> = [];
    const failing = createRemediationRouter({
      activeDirectory: inspecting('activeDirectory', new AppError('DIRECTORY_UNAVAILABLE', 'Could not look up CORP\\padmin in Active Directory: the directory did not answer.'), seen),
      entra: inspecting('entra', plainEntra, seen),
    });
    const error = (await failing.inspect('revoke-sessions', { accountKey: 'upn:padmin@corp.example.test' }, { log: logger }).catch((e: unknown) => e)) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect([error.code, error.message]).toEqual(['DIRECTORY_UNAVAILABLE', 'Active Directory could not say whether the account is privileged there (could not look up CORP\\padmin in Active Directory: the directory did not answer)']);

    const hanging = createRemediationRouter({ activeDirectory: inspecting('activeDirectory', 'hang', seen), entra: inspecting('entra', plainEntra, seen) });
    const timeout = (await hanging.inspect('revoke-sessions', { accountKey: 'upn:padmin@corp.example.test' }, { log: logger, signal: AbortSignal.timeout(50) }).catch((e: unknown) => e)) as AppError;
    expect([timeout.code, timeout.message]).toEqual(['TIMEOUT', 'Active Directory could not say whether the account is privileged there (the check timed out)']);
  });

  it('skips a system that has nothing to find the person by, and one that does not know them', async () => {
    const seen: Array<[string, ActionTarget]> = [];
    const router = createRemediationRouter({ activeDirectory: inspecting('activeDirectory', { found: true, privileged: false, reasons: [] }, seen), entra: inspecting('entra', { found: false, privileged: false, reasons: [] }, seen) });
    // A sam-only AD target and nothing found: Entra has no UPN or object id to look for.
    expect(await router.inspect('disable-ad-account', { accountKey: 'sam:corp\\jdoe' }, { log: logger })).toEqual({ found: true, privileged: false, reasons: [] });
    expect(seen.map(([call]) => call)).toEqual(['activeDirectory:disable-ad-account']);
    expect(await router.inspect('disable-ad-account', { accountKey: 'upn:jdoe@corp.example.test' }, { log: logger })).toEqual({ found: true, privileged: false, reasons: [] });
    expect(seen.map(([call]) => call).slice(1)).toEqual(['activeDirectory:disable-ad-account', 'entra:mark-compromised']);
  });
});

describe('each system\'s record of handlers (remediationOf)', () => {
  const { logger } = captureLogger();
  const target: ActionTarget = { accountKey: 'upn:jdoe@corp.example.test' };
  const handler = (name: string, calls: string[]): ActionHandler => ({
    async inspect() {
      calls.push(`${name}:inspect`);
      return { found: true, privileged: false, reasons: [] };
    },
    async run() {
      calls.push(`${name}:run`);
      return { summary: name, details: {} };
    },
    async readBack() {
      calls.push(`${name}:readBack`);
      return 'applied';
    },
  });

  it('dispatches each action to its own handler, supports exactly the record\'s actions, and rejects another system\'s', async () => {
    const calls: string[] = [];
    const okta = remediationOf('okta', { 'suspend-okta': handler('suspend', calls), 'unsuspend-okta': handler('unsuspend', calls) });
    expect(ACTION_NAMES.filter((action) => okta.supports(action))).toEqual(['suspend-okta', 'unsuspend-okta']);
    expect((await okta.run('unsuspend-okta', target, { dryRun: false, log: logger })).summary).toBe('unsuspend');
    expect(await okta.readBack('suspend-okta', target, { log: logger })).toBe('applied');
    await okta.inspect('suspend-okta', target, { log: logger });
    expect(calls).toEqual(['unsuspend:run', 'suspend:readBack', 'suspend:inspect']);
    // A hand-made action name (card data is untrusted) or another system's action: a rejection, no call.
    await expect(okta.run('suspend-entra', target, { dryRun: false, log: logger })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(okta.run('__proto__' as ActionName, target, { dryRun: false, log: logger })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    expect(okta.supports('constructor' as ActionName)).toBe(false);
    expect(calls).toHaveLength(3);
  });

  it('a system record without a handler for one of its catalog actions does not compile', () => {
    const calls: string[] = [];
    const h = handler('any', calls);
    // @ts-expect-error force-password-reset-entra is an Entra action in ACTION_CATALOG: its handler is required.
    const incomplete: SystemActions<'entra'> = { 'mark-compromised': h, 'dismiss-risk': h, 'revoke-sessions': h, 'suspend-entra': h, 'enable-entra': h };
    expect(Object.keys(incomplete)).toHaveLength(5);
    const entraActions = ACTION_NAMES.filter((action) => ACTION_CATALOG[action].system === 'entra');
    expect(entraActions).toContain('force-password-reset-entra');
  });
});
