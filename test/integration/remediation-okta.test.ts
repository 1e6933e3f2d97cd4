import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { gate } from '../support/gate.ts';
import { createOktaClient, rateLimitWaitSeconds, type CreateOktaClientOptions } from '../../src/adapters/okta/okta-client.ts';
import { createOktaRemediation } from '../../src/adapters/okta/okta-remediation.ts';
import { AppError } from '../../src/domain/errors.ts';
import type { ActionTarget } from '../../src/domain/remediation.ts';
import { Secret } from '../../src/observability/logger.ts';
import { appError } from '../support/failures.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { startOktaServer, type OktaServer } from '../../sim/okta/okta-server.ts';
import { addOktaUser, addUser, createDemoTenant, findOktaUser, type DemoTenant } from '../../sim/tenant.ts';

/** Okta containment through fetch against the local Okta stand-in, read back from its state. */

const apiToken = `00${randomBytes(20).toString('base64url')}`;
const capture = captureLogger();
let demo: DemoTenant;
let okta: OktaServer;

function client(overrides: Partial<CreateOktaClientOptions> = {}) {
  return createOktaClient({ orgUrl: okta.url, apiToken: new Secret(apiToken), timeoutMs: 3_000, logger: capture.logger, ...overrides });
}

function remediation(overrides: Partial<CreateOktaClientOptions> = {}) {
  return createOktaRemediation({ client: client(overrides) });
}

/** A fresh Entra + Okta user per test, so tests never share state. */
function person(name: string, status?: 'ACTIVE' | 'SUSPENDED' | 'DEPROVISIONED'): { target: ActionTarget; login: string } {
  const user = addUser(demo.tenant, { name, synced: false, okta: status ? { status } : true });
  return { target: { accountKey: `upn:${user.userPrincipalName}`, displayName: user.displayName }, login: user.userPrincipalName };
}

const opts = () => ({ dryRun: false, log: capture.logger });

beforeAll(async () => {
  demo = createDemoTenant();
  okta = await startOktaServer({ apiToken, tenant: demo.tenant });
});

afterAll(async () => {
  await okta?.close();
  // The API token never reaches a log line, whatever the test did.
  expect(capture.text()).not.toContain(apiToken);
});

describe('Okta client', () => {
  it('gets a user by login (as the lookup command will) and by id', async () => {
    const { login } = person('olga.lookup');
    const byLogin = await client().getUser(login.toUpperCase());
    expect(byLogin).toMatchObject({ login, status: 'ACTIVE', email: login, displayName: 'Olga Lookup' });
    expect(byLogin.id).toMatch(/^00u/);
    expect((await client().getUser(byLogin.id)).login).toBe(login);
    const sent = okta.requests.at(-1);
    expect(sent?.headers.authorization).toBe(`SSWS ${apiToken}`);
  });

  it('escapes the login as one path segment', async () => {
    const error = await appError(client().getUser('../../groups?x=1'));
    expect(error.code).toBe('UPSTREAM_NOT_FOUND');
    expect(okta.requests.at(-1)?.path).toBe(`/api/v1/users/${encodeURIComponent('../../groups?x=1')}`);
  });
});

describe('Okta remediation: suspend and unsuspend', () => {
  it('suspends, clears sessions and OAuth tokens, reads it back, and unsuspends', async () => {
    const { target, login } = person('sam.suspend');
    const stored = findOktaUser(demo.tenant, login);
    const before = okta.actions.length;
    const result = await remediation().run('suspend-okta', target, opts());
    expect(result.summary).toBe(`Suspended ${login} in Okta and cleared its Okta sessions and the OAuth tokens Okta issued (remembered devices kept); sessions that apps keep on their own are not ended by Okta`);
    expect(result.details).toMatchObject({ system: 'okta', oktaUserId: stored?.id, statusBefore: 'ACTIVE', changed: true });
    expect(stored).toMatchObject({ status: 'SUSPENDED', sessionCount: 0, oauthTokenCount: 0 });
    expect(okta.actions.slice(before).map((a) => [a.kind, a.oauthTokens, a.forgetDevices])).toEqual([
      ['suspend', undefined, undefined],
      ['clearSessions', true, false],
    ]);
    // Suspended, but Okta cannot show that the sessions went too: never claimed as applied.
    expect(await remediation().readBack('suspend-okta', target, opts())).toBe('unknown');
    expect(await remediation().readBack('unsuspend-okta', target, opts())).toBe('not-applied');

    const undo = await remediation().run('unsuspend-okta', target, opts());
    expect(undo.summary).toBe(`Unsuspended ${login} in Okta`);
    expect(stored?.status).toBe('ACTIVE');
    expect(await remediation().readBack('suspend-okta', target, opts())).toBe('not-applied');
    expect(await remediation().readBack('unsuspend-okta', target, opts())).toBe('applied');
  });

  it('is idempotent: an already suspended user only gets its sessions cleared', async () => {
    const { target, login } = person('sue.already', 'SUSPENDED');
    const before = okta.actions.length;
    const result = await remediation().run('suspend-okta', target, opts());
    expect(result.summary).toContain('was already suspended in Okta');
    expect(okta.actions.slice(before).map((a) => a.kind)).toEqual(['clearSessions']);
    expect(findOktaUser(demo.tenant, login)?.status).toBe('SUSPENDED');
  });

  it('a suspend interrupted before its session DELETE reads back unknown, and running it again only clears the sessions', async () => {
    const { target, login } = person('ivan.interrupted');
    const stored = findOktaUser(demo.tenant, login)!;
    // What a process killed between the two calls leaves: suspended, sessions and tokens alive.
    await client().suspendUser(stored.id);
    expect(stored).toMatchObject({ status: 'SUSPENDED', sessionCount: 2 });
    expect(stored.oauthTokenCount).toBeGreaterThan(0);
    expect(await remediation().readBack('suspend-okta', target, opts())).toBe('unknown');

    const before = okta.actions.length;
    const again = await remediation().run('suspend-okta', target, opts());
    expect(again.summary).toBe(`${login} was already suspended in Okta; cleared its Okta sessions and the OAuth tokens Okta issued (remembered devices kept); sessions that apps keep on their own are not ended by Okta`);
    expect(okta.actions.slice(before).map((a) => [a.kind, a.oauthTokens])).toEqual([['clearSessions', true]]);
    expect(stored).toMatchObject({ status: 'SUSPENDED', sessionCount: 0, oauthTokenCount: 0 });
  });

  it('dry run reads the user but changes nothing', async () => {
    const { target, login } = person('dry.okta');
    const before = okta.actions.length;
    const requestsBefore = okta.requests.length;
    const result = await remediation().run('suspend-okta', target, { ...opts(), dryRun: true });
    expect(result.summary).toBe(`DRY RUN: would suspend ${login} in Okta and clear its sessions`);
    expect(result.details).toMatchObject({ dryRun: true, changed: false });
    expect(okta.actions.length).toBe(before);
    expect(okta.requests.slice(requestsBefore).map((r) => r.method)).toEqual(['GET']);
    expect(findOktaUser(demo.tenant, login)).toMatchObject({ status: 'ACTIVE', sessionCount: 2 });
  });

  it('inspect finds the user (or not)', async () => {
    const { target, login } = person('ina.inspect');
    expect(await remediation().inspect('suspend-okta', target, opts())).toEqual({ found: true, privileged: false, reasons: [], identities: [{ system: 'okta', oktaUserId: expect.any(String), login }] });
    expect(await remediation().inspect('suspend-okta', { accountKey: 'upn:ghost@corp.example.test' }, opts())).toMatchObject({ found: false });
  });
});

describe('Okta remediation: errors in words', () => {
  it('no such user (E0000007)', async () => {
    const error = await appError(remediation().run('suspend-okta', { accountKey: 'upn:nobody@corp.example.test' }, opts()));
    expect(error.code).toBe('UPSTREAM_NOT_FOUND');
    expect(error.message).toBe('No such user in Okta: no user has the login nobody@corp.example.test.');
    const raw = await appError(client().getUser('nobody@corp.example.test'));
    expect(raw.details).toMatchObject({ status: 404, oktaCode: 'E0000007' });
  });

  it('a user that is not active (E0000001), from the remediation and from Okta itself', async () => {
    const { target, login } = person('dee.provisioned', 'DEPROVISIONED');
    const error = await appError(remediation().run('suspend-okta', target, opts()));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toBe(
      `Okta cannot suspend ${login}: only active users can be suspended and this one is DEPROVISIONED. No sessions were cleared (a user in this status has none). Not done: the suspension; deactivate the user in the Okta admin console if it must not sign in again.`,
    );
    const suspended = addOktaUser(demo.tenant, { login: 'twice@corp.example.test', status: 'SUSPENDED' });
    const raw = await appError(client().suspendUser(suspended.id));
    expect(raw.code).toBe('CONFLICT');
    expect(raw.message).toBe(`Okta refused to suspend user ${suspended.id}: cannot suspend a user that is not active (E0000001).`);
    expect(raw.details).toMatchObject({ status: 400, oktaCode: 'E0000001' });
  });

  it('a wrong token (401 E0000011) and a token without the admin role (403 E0000006)', async () => {
    const { target } = person('tom.token');
    const wrong = await appError(createOktaRemediation({ client: client({ apiToken: new Secret('not-the-token') }) }).run('suspend-okta', target, opts()));
    expect(wrong.code).toBe('UPSTREAM_FORBIDDEN');
    expect(wrong.message).toContain("Okta refused the bot's API token");
    expect(wrong.message).toContain('E0000011');
    expect(wrong.message).not.toContain('not-the-token');

    okta.faults.push({
      match: (r) => r.path.endsWith('/lifecycle/suspend'),
      status: 403,
      body: { errorCode: 'E0000006', errorSummary: 'You do not have permission to perform the requested action', errorLink: 'E0000006', errorId: 'oae1', errorCauses: [] },
    });
    const forbidden = await appError(remediation().run('suspend-okta', target, opts()));
    expect(forbidden.code).toBe('UPSTREAM_FORBIDDEN');
    expect(forbidden.message).toContain('does not allow the bot');
    expect(forbidden.message).toContain('E0000006');
  });

  it('rate limit (429 E0000047): waits out a short reset and retries, surfaces a long one', async () => {
    const { target, login } = person('rita.rate');
    okta.faults.push({ match: (r) => r.path.endsWith('/lifecycle/suspend'), status: 429, retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    await remediation().run('suspend-okta', target, opts());
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(findOktaUser(demo.tenant, login)?.status).toBe('SUSPENDED');

    // Without Retry-After, Okta's X-Rate-Limit-Reset names the end of the minute window.
    okta.faults.push({ status: 429, times: 5 });
    const throttled = await appError(remediation({ maxWaitSeconds: 0 }).run('unsuspend-okta', target, opts()));
    expect(throttled.code).toBe('UPSTREAM_THROTTLED');
    expect(throttled.message).toMatch(/^Okta is rate limiting the bot while it tries to look up .* \(E0000047\); retry after \d+ seconds\.$/);
    expect(throttled.details.retryAfterSeconds).toBeGreaterThan(0);
    okta.faults.length = 0;
  });

  it('a server error and a timeout', async () => {
    const { target, login } = person('tim.timeout');
    okta.faults.push({ status: 500, times: 1 });
    const failed = await appError(remediation().run('suspend-okta', target, opts()));
    expect([failed.code, failed.message]).toEqual(['UPSTREAM_ERROR', `Okta failed (HTTP 500) while trying to look up ${login} (E0000009).`]);

    // Okta holds the request until the test ends: only the 300 ms timeout can end the call.
    const stall = gate();
    onTestFinished(() => stall.open());
    okta.faults.push({ until: stall.opened, times: 1 });
    const started = Date.now();
    const timedOut = await appError(remediation({ timeoutMs: 300 }).run('suspend-okta', target, opts()));
    expect(timedOut.code).toBe('TIMEOUT');
    expect(timedOut.message).toBe(`Okta did not answer within 300 ms while trying to look up ${login}.`);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(findOktaUser(demo.tenant, login)?.status).toBe('ACTIVE');
  });

  it('refuses a target without a UPN and a plain-http org URL', async () => {
    expect((await appError(remediation().run('suspend-okta', { accountKey: 'sid:s-1-5-21-1-2-3-1001' }, opts()))).code).toBe('INPUT_INVALID');
    expect(() => createOktaClient({ orgUrl: 'http://example.okta.com', apiToken: new Secret('x'), timeoutMs: 1000, logger: capture.logger })).toThrow(AppError);
  });
});

describe('Okta remediation: issue 13 (what Okta really does)', () => {
  it('suspend of a LOCKED_OUT user clears its sessions (keeping remembered devices) and says the suspension was not done', async () => {
    const { target, login } = person('lou.locked');
    const stored = findOktaUser(demo.tenant, login)!;
    stored.status = 'LOCKED_OUT';
    const before = okta.actions.length;
    const error = await appError(remediation().run('suspend-okta', target, opts()));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toBe(
      `Okta cannot suspend ${login}: only active users can be suspended and this one is LOCKED_OUT. ` +
        'The bot cleared its Okta sessions and the OAuth tokens Okta issued (remembered devices kept); sessions that apps keep on their own are not ended by Okta. ' +
        'Not done: the suspension; deactivate the user in the Okta admin console if it must not sign in again.',
    );
    expect(error.details).toMatchObject({ suspended: false, sessionsCleared: true, forgetDevices: false, statusBefore: 'LOCKED_OUT' });
    expect(okta.actions.slice(before).map((a) => [a.kind, a.oauthTokens, a.forgetDevices])).toEqual([['clearSessions', true, false]]);
    expect(stored).toMatchObject({ status: 'LOCKED_OUT', sessionCount: 0, oauthTokenCount: 0 });
  });

  it('OKTA_FORGET_DEVICES=true forgets remembered devices too, and says so', async () => {
    const { target, login } = person('fay.forget');
    const before = okta.actions.length;
    const result = await createOktaRemediation({ client: client(), forgetDevices: true }).run('suspend-okta', target, opts());
    expect(result.summary).toBe(`Suspended ${login} in Okta and cleared its Okta sessions and the OAuth tokens Okta issued, and forgot its remembered devices; sessions that apps keep on their own are not ended by Okta`);
    expect(okta.actions.slice(before).at(-1)).toMatchObject({ kind: 'clearSessions', forgetDevices: true });
  });

  it("an alert naming another person's Okta id or short name as its UPN acts on nobody", async () => {
    const victim = person('vic.victim');
    const stored = findOktaUser(demo.tenant, victim.login)!;
    const before = okta.actions.length;
    for (const hostile of [stored.id, 'vic.victim']) {
      const error = await appError(remediation().run('suspend-okta', { accountKey: `upn:${hostile}`, userPrincipalName: hostile }, opts()));
      expect(error.code, hostile).toBe('CONFLICT');
      expect(error.message, hostile).toBe(`Okta answered the lookup of ${hostile} with another user (login ${victim.login}); the bot acts on nobody.`);
    }
    expect(okta.actions.length).toBe(before);
    expect(stored.status).toBe('ACTIVE');
  });

  it("waits for X-Rate-Limit-Reset counted from Okta's Date header, not the local clock", () => {
    // The local clock runs 10 minutes ahead of Okta's: the window resets 5 s after Okta's now.
    const oktaNow = Date.parse('2026-11-20T10:00:00Z');
    const headers = new Headers({ date: new Date(oktaNow).toUTCString(), 'x-rate-limit-reset': String(oktaNow / 1000 + 5) });
    expect(rateLimitWaitSeconds(headers, oktaNow + 600_000)).toBe(5);
    // Without a Date header the local clock is all there is.
    expect(rateLimitWaitSeconds(new Headers({ 'x-rate-limit-reset': String(oktaNow / 1000 + 5) }), oktaNow)).toBe(5);
    expect(rateLimitWaitSeconds(new Headers({ 'retry-after': '7', date: new Date(oktaNow).toUTCString() }), 0)).toBe(7);
  });
});
