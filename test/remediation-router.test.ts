import { describe, expect, it } from 'vitest';
import { ACTION_CATALOG, ACTION_NAMES, type ActionName } from '../src/actions/action-names.ts';
import { createRemediationRouter } from '../src/actions/remediation-router.ts';
import { targetIdentity, targetLabel } from '../src/actions/target-identity.ts';
import { AppError } from '../src/domain/errors.ts';
import type { Remediation } from '../src/domain/remediation.ts';
import { Secret } from '../src/observability/logger.ts';
import { captureLogger } from './support/log-capture.ts';

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
    expect(calls.slice(-2)).toEqual(['okta:readBack:suspend-okta', 'entra:inspect:revoke-sessions']);
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
