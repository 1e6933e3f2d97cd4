import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadActionPolicy } from '../../src/actions/action-policy.ts';
import { createOktaClient } from '../../src/adapters/okta/okta-client.ts';
import { createOktaRemediation } from '../../src/adapters/okta/okta-remediation.ts';
import { actionTargetOf, approvalIdFor } from '../../src/approvals/approval-target.ts';
import { createApprovalWorkflow } from '../../src/approvals/approval-workflow.ts';
import { createUserListApproverCheck } from '../../src/approvals/approver-check.ts';
import { Secret } from '../../src/observability/logger.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { startOktaServer, type OktaServer } from '../../sim/okta/okta-server.ts';
import { addUser, createDemoTenant, findOktaUser, type DemoTenant } from '../../sim/tenant.ts';
import { ALICE, DEFAULT_SETTINGS, cardButtons, cardText, identityTheftAlert, recordingMessenger, seedAlert, turnOf } from '../support/approval-harness.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';

/**
 * Crash reconciliation of suspend-okta with the real Okta remediation against the Okta stand-in:
 * a run killed between the suspend and the session DELETE must not be reported "in place" (live
 * sessions would keep working), but as unconfirmed, with Retry, which then finishes it.
 */
const apiToken = `00${randomBytes(20).toString('base64url')}`;
const capture = captureLogger();
let demo: DemoTenant;
let okta: OktaServer;
let store: Store;

beforeAll(async () => {
  demo = createDemoTenant();
  okta = await startOktaServer({ apiToken, tenant: demo.tenant });
  store = await openStore({ databaseUrl: `sqlite:${join(mkdtempSync(join(tmpdir(), 'okta-reconcile-')), 'bot.db')}`, logger: capture.logger });
});

afterAll(async () => {
  await store?.close();
  await okta?.close();
  expect(capture.text()).not.toContain(apiToken);
});

describe('reconciling an interrupted suspend-okta', () => {
  it('reports it unconfirmed in the thread with Retry on the card (never "in place"); Retry clears the sessions', async () => {
    const user = addUser(demo.tenant, { name: 'rita.recon', synced: false, okta: true });
    const alert = identityTheftAlert('alert-okta-recon', 'rrecon', 'S-1-5-21-1111-2222-3333-1190');
    alert.accounts[0]!.userPrincipalName = user.userPrincipalName;
    const record = await seedAlert(store, alert);
    const key = 'sid:s-1-5-21-1111-2222-3333-1190';
    const client = createOktaClient({ orgUrl: okta.url, apiToken: new Secret(apiToken), timeoutMs: 3_000, logger: capture.logger, maxRetries: 0 });
    const messenger = recordingMessenger();
    const clock = { now: new Date() };
    const workflow = createApprovalWorkflow({
      store,
      remediation: createOktaRemediation({ client }),
      messenger,
      approvers: createUserListApproverCheck([ALICE.aadObjectId!]),
      policy: loadActionPolicy(),
      capabilities: { activeDirectory: true, entra: true, okta: true },
      settings: { ...DEFAULT_SETTINGS, runTimeoutMs: 5_000 },
      logger: capture.logger,
      channelFor: async (card) => ({ conversation: { id: card.conversationId }, serviceUrl: 'https://connector.test/' }),
      now: () => clock.now,
    });

    // What a process killed mid-run leaves: the row running (its lease long gone), the Okta user
    // suspended, the DELETE of its sessions never sent.
    const id = approvalIdFor(record.key, 'suspend-okta', key);
    await store.createApproval({ id, alertKey: record.key, action: 'suspend-okta', target: { ...actionTargetOf(alert.accounts[0]!, key) }, code: 'OKTARC', requiredApprovals: 1, requestedBy: ALICE.aadObjectId!, expiresAt: new Date(Date.now() + 3_600_000) });
    expect(await store.transitionApproval(id, 'pending', 'approved', { decidedBy: 'Alice' })).toBe(true);
    expect(await store.transitionApproval(id, 'approved', 'running', { startedAt: new Date() })).toBe(true);
    const stored = findOktaUser(demo.tenant, user.userPrincipalName)!;
    await client.suspendUser(stored.id);
    expect(stored).toMatchObject({ status: 'SUSPENDED', sessionCount: 2 });

    clock.now = new Date(Date.now() + 10 * 60_000);
    const actionsBefore = okta.actions.length;
    expect(await workflow.reconcile()).toBe(1);
    // Reconciliation reads back, it never runs the action itself.
    expect(okta.actions.length).toBe(actionsBefore);
    expect(await store.getApproval(id)).toMatchObject({ state: 'failed', errorCode: 'INTERRUPTED' });
    const said = messenger.replies.at(-1)?.text ?? '';
    expect(said).toMatch(/^Suspend in Okta for CORP\\rrecon was interrupted by a bot restart/);
    expect(said).toContain('could not be confirmed complete');
    expect(said).toContain('press Retry on the card');
    expect(said).not.toContain('in place (approved');
    const card = messenger.updates.at(-1)?.message.card;
    expect(cardButtons(card).filter((b) => b.verb === 'retry').map((b) => b.data.action)).toEqual(['suspend-okta']);
    expect(cardText(card)).not.toMatch(/confirmed after a restart/);
    const audit = await store.listAudit({ approvalId: id, limit: 5 });
    expect(audit[0]).toMatchObject({ action: 'action.reconciled', outcome: 'failure', code: 'INTERRUPTED', details: { readBack: 'unknown', action: 'suspend-okta' } });

    // Retry finishes the job: the user is suspended already, so only the sessions are cleared.
    const retry = cardButtons(card).find((b) => b.verb === 'retry')!;
    await workflow.onCardAction({ verb: 'retry', data: retry.data, via: 'execute', cardActivityId: record.card!.activityId }, turnOf(ALICE));
    await workflow.idle();
    expect(okta.actions.slice(actionsBefore).map((a) => [a.kind, a.oauthTokens])).toEqual([['clearSessions', true]]);
    expect(stored).toMatchObject({ status: 'SUSPENDED', sessionCount: 0, oauthTokenCount: 0 });
    expect((await store.getApproval(id))?.state).toBe('succeeded');
    expect(messenger.replies.at(-1)?.text).toContain('cleared its Okta sessions and the OAuth tokens Okta issued (remembered devices kept); sessions that apps keep on their own are not ended by Okta');
  });
});
