import { describe, expect, it } from 'vitest';
import { createExecutorChoice, type ExecutorMode } from '../../src/actions/executor-choice.ts';
import { loadConfig } from '../../src/config/config.ts';
import { AppError } from '../../src/domain/errors.ts';
import type { ActionName } from '../../src/domain/actions.ts';
import type { AppliedState, Remediation } from '../../src/domain/remediation.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';

/** Which executor runs what: fake ports that record the calls they get. */
function fake(name: string, supported: ActionName[], options: { listed?: boolean; readBack?: AppliedState } = {}) {
  const calls: string[] = [];
  const port: Remediation = {
    supports: (action) => supported.includes(action),
    async offerable() {
      calls.push('offerable');
      return options.listed ?? true;
    },
    async inspect() {
      calls.push('inspect');
      return { found: true, privileged: name === 'ldap', reasons: name === 'ldap' ? ['adminCount=1'] : [], ...(options.listed === false ? { unavailable: 'not listed' } : {}) };
    },
    async run() {
      calls.push('run');
      if (options.listed === false) throw new AppError('ACTION_NOT_APPLICABLE', 'MDI does not offer it', { details: { executor: 'mdi' } });
      return { summary: `${name} ran`, details: name === 'mdi' ? { executor: 'mdi', correlationId: 'c-1' } : { dn: 'CN=x' } };
    },
    async readBack() {
      calls.push('readBack');
      return options.readBack ?? 'unknown';
    },
  };
  return { port, calls };
}

const target = { accountKey: 'sid:s-1-5-21-1-2-3-1104', sid: 'S-1-5-21-1-2-3-1104' };
const log = captureLogger().logger;
const AD: ActionName[] = ['disable-ad-account', 'enable-ad-account', 'reset-password'];

function choice(mode: ExecutorMode, direct = fake('ldap', AD), mdi = fake('mdi', AD)) {
  const chosen = createExecutorChoice({ system: 'activeDirectory', mode, direct: direct.port, directName: 'ldap', mdi: mdi.port });
  if (!chosen) throw new Error('no executor');
  return { chosen, direct, mdi };
}

describe('executor choice', () => {
  it('direct: MDI is never asked', async () => {
    const { chosen, direct, mdi } = choice('direct');
    const result = await chosen.run('disable-ad-account', target, { dryRun: false, log });
    expect(result.details).toMatchObject({ executor: 'ldap', dn: 'CN=x' });
    expect(await chosen.offerable?.('disable-ad-account', target, { log })).toBe(true);
    expect(mdi.calls).toEqual([]);
    expect(direct.calls).toEqual(['run', 'offerable']);
  });

  it('mdi: MDI runs it; privilege comes from the direct adapter; MDI\'s "not listed" is kept for the router to refuse', async () => {
    const { chosen, direct, mdi } = choice('mdi', fake('ldap', AD), fake('mdi', AD, { listed: false }));
    const inspection = await chosen.inspect('disable-ad-account', target, { log });
    expect(inspection).toMatchObject({ found: true, privileged: true, reasons: ['adminCount=1'], unavailable: 'not listed' });
    await expect(chosen.run('disable-ad-account', target, { dryRun: false, log })).rejects.toThrow('MDI does not offer it');
    expect(direct.calls).not.toContain('run');
    expect(await chosen.offerable?.('disable-ad-account', target, { log })).toBe(false);
    expect(mdi.calls).toContain('offerable');
  });

  it('auto: MDI when it lists the action, the direct adapter when it does not (tagged so in the audit details)', async () => {
    const listed = choice('auto');
    expect((await listed.chosen.run('disable-ad-account', target, { dryRun: false, log })).details).toMatchObject({ executor: 'mdi', correlationId: 'c-1' });
    expect(listed.direct.calls).not.toContain('run');
    const unlisted = choice('auto', fake('ldap', AD), fake('mdi', AD, { listed: false }));
    const result = await unlisted.chosen.run('disable-ad-account', target, { dryRun: false, log });
    expect(result.details).toMatchObject({ executor: 'ldap', mdiNotOffered: 'MDI does not offer it' });
    expect(unlisted.direct.calls).toContain('run');
  });

  it('auto: any other MDI failure is not papered over by running the action a second way', async () => {
    const mdi = fake('mdi', AD);
    mdi.port.run = async () => {
      throw new AppError('UPSTREAM_ERROR', 'Graph failed');
    };
    const { chosen, direct } = choice('auto', fake('ldap', AD), mdi);
    await expect(chosen.run('disable-ad-account', target, { dryRun: false, log })).rejects.toThrow('Graph failed');
    expect(direct.calls).not.toContain('run');
  });

  it('read-back: where the state lives first, MDI only when the direct adapter cannot tell', async () => {
    const sure = choice('mdi', fake('ldap', AD, { readBack: 'not-applied' }), fake('mdi', AD, { readBack: 'applied' }));
    expect(await sure.chosen.readBack('disable-ad-account', target, { log })).toBe('not-applied');
    const unsure = choice('mdi', fake('ldap', AD, { readBack: 'unknown' }), fake('mdi', AD, { readBack: 'applied' }));
    expect(await unsure.chosen.readBack('disable-ad-account', target, { log })).toBe('applied');
  });

  it('without LDAP an AD account MDI knows counts as privileged (nobody can read adminCount or its groups): never "not privileged" by default', async () => {
    const mdi = fake('mdi', AD);
    const chosen = createExecutorChoice({ system: 'activeDirectory', mode: 'mdi', directName: 'ldap', mdi: mdi.port });
    expect(await chosen?.inspect('disable-ad-account', target, { log })).toMatchObject({ found: true, privileged: true, reasons: [expect.stringContaining('cannot be read without LDAP')] });
    const okta = createExecutorChoice({ system: 'okta', mode: 'mdi', directName: 'okta', mdi: fake('mdi', ['suspend-okta']).port });
    expect(await okta?.inspect('suspend-okta', target, { log })).toMatchObject({ privileged: false });
  });

  it('without LDAP, mdi still runs the AD actions; direct without LDAP has none', () => {
    const mdi = fake('mdi', AD);
    expect(createExecutorChoice({ system: 'activeDirectory', mode: 'mdi', directName: 'ldap', mdi: mdi.port })?.supports('disable-ad-account')).toBe(true);
    expect(createExecutorChoice({ system: 'activeDirectory', mode: 'direct', directName: 'ldap', mdi: mdi.port })).toBeUndefined();
  });
});

describe('ACTION_EXECUTOR configuration', () => {
  const base = { BOT_AUTH: 'off', DRY_RUN: 'true', ALERT_SOURCES: 'none' };
  const azure = { AZURE_TENANT_ID: '11111111-1111-1111-1111-111111111111', AZURE_CLIENT_ID: '22222222-2222-2222-2222-222222222222', AZURE_CLIENT_SECRET: 'x'.repeat(30) };

  it('defaults to direct everywhere; ACTION_EXECUTOR sets all, the per-system keys override', () => {
    expect(loadConfig(base).executors).toMatchObject({ activeDirectory: 'direct', entra: 'direct', okta: 'direct', mdiConfirmTimeoutSeconds: 600 });
    const config = loadConfig({ ...base, ...azure, ACTION_EXECUTOR: 'auto', ACTION_EXECUTOR_ENTRA: 'graph', ACTION_EXECUTOR_OKTA: 'mdi', MDI_CONFIRM_TIMEOUT_SECONDS: '120' });
    expect(config.executors).toEqual({ activeDirectory: 'auto', entra: 'direct', okta: 'mdi', mdiConfirmTimeoutSeconds: 120 });
  });

  it('MDI needs the Azure app registration; unknown values are named', () => {
    expect(() => loadConfig({ ...base, ACTION_EXECUTOR_AD: 'mdi' })).toThrow(/ACTION_EXECUTOR: Defender for Identity is reached through Microsoft Graph/);
    expect(() => loadConfig({ ...base, ...azure, ACTION_EXECUTOR: 'ldap' })).toThrow(/ACTION_EXECUTOR: must be one of direct, mdi, auto/);
    expect(() => loadConfig({ ...base, ...azure, ACTION_EXECUTOR_AD: 'graph' })).toThrow(/ACTION_EXECUTOR_AD: must be one of ldap, mdi, auto/);
  });
});

describe('router over a chosen executor', () => {
  it('refuses an action the executor will not run on this account (MDI does not list it), while other systems may still probe it for privilege', async () => {
    const { createRemediationRouter } = await import('../../src/actions/remediation-router.ts');
    const unlisted = choice('mdi', fake('ldap', AD), fake('mdi', AD, { listed: false }));
    const router = createRemediationRouter({ activeDirectory: unlisted.chosen });
    const refused = await router.inspect('reset-password', target, { log }).catch((error: unknown) => error as AppError);
    expect(refused).toBeInstanceOf(AppError);
    expect([(refused as AppError).code, (refused as AppError).message]).toEqual(['ACTION_NOT_APPLICABLE', 'not listed']);
    expect(await router.offerable?.('reset-password', target, { log })).toBe(false);
    expect(await router.offerable?.('suspend-okta', target, { log })).toBe(false);
    const listed = createRemediationRouter({ activeDirectory: choice('mdi').chosen });
    expect(await listed.inspect('reset-password', target, { log })).toMatchObject({ found: true, privileged: true });
    expect(listed.describe?.('reset-password')).toBeUndefined();
  });
});
