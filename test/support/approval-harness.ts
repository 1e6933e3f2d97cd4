import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { loadActionPolicy } from '../../src/actions/action-policy.ts';
import type { ActionName } from '../../src/actions/action-names.ts';
import { createApprovalWorkflow, type ApprovalSettings, type ApprovalWorkflow, type ApprovalWorkflowDeps } from '../../src/approvals/approval-workflow.ts';
import { createUserListApproverCheck } from '../../src/approvals/approver-check.ts';
import { createCommandHandler } from '../../src/commands/command-handler.ts';
import type { PrivateRecipient } from '../../src/domain/ports/private-messenger.ts';
import type { Alert } from '../../src/domain/alert.ts';
import type { ChatTurn, Actor, CardAction } from '../../src/domain/ports/chat.ts';
import { AppError } from '../../src/domain/errors.ts';
import type { Messenger, OutboundMessage } from '../../src/domain/ports/messenger.ts';
import type { ActionResult, ActionTarget, AppliedState, Remediation, TargetInspection } from '../../src/domain/remediation.ts';
import { Secret } from '../../src/observability/logger.ts';
import { openStore } from '../../src/store/index.ts';
import type { AlertRecord } from '../../src/domain/ports/alert-store.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import type { Gate } from './gate.ts';
import { captureLogger, type CapturedLogger } from '../../sim/harness/log-capture.ts';

/** Test fixtures for the approval workflow: a real store, fake Remediation/Messenger ports that record what they were asked. */
export const ALICE: Actor = { id: '29:alice', aadObjectId: '6f1c2d8e-9a34-4b2e-8f61-3c9a4d7ea0b5', name: 'Alice' };
export const BOB: Actor = { id: '29:bob', aadObjectId: '3e0a9b7c-1d2e-4f30-9a8b-7c6d5e4f3a2b', name: 'Bob' };
export const MALLORY: Actor = { id: '29:mallory', aadObjectId: '99999999-9999-4999-8999-999999999999', name: 'Mallory' };
export const APPROVERS = Array.from({ length: 20 }, (_, i): Actor => ({ id: `29:approver${i}`, aadObjectId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `Approver ${i}` }));

export const JDOE_SID = 'S-1-5-21-1111-2222-3333-1104';
export const JDOE_TARGET = `sid:${JDOE_SID.toLowerCase()}`;
export const TEMP_PASSWORD = 'Tmp-Pw!9xQ7-Zk2';

export function identityTheftAlert(key = 'alert-1', sam = 'jdoe', sid = JDOE_SID): Alert {
  return {
    key,
    sourceId: key,
    source: 'graph',
    title: 'Suspected identity theft (pass-the-ticket)',
    description: 'jdoe used a stolen ticket.',
    severity: 'high',
    status: 'new',
    mitreTechniques: [],
    accounts: [{ samAccountName: sam, domain: 'CORP', sid, userPrincipalName: `${sam}@corp.example.com`, displayName: `${sam} Doe`, roles: ['compromised'] }],
    devices: [],
  };
}

export interface FakeRemediation extends Remediation {
  runs: { action: ActionName; target: ActionTarget; dryRun: boolean }[];
  inspection: TargetInspection;
  failNext?: AppError;
  delayMs: number;
  /** When set, every run waits at this gate (after recording itself in `runs`) until the test opens it. */
  hold?: Gate;
  applied: AppliedState;
}

export function fakeRemediation(): FakeRemediation {
  const fake: FakeRemediation = {
    runs: [],
    inspection: { found: true, privileged: false, reasons: [] },
    delayMs: 20,
    applied: 'applied',
    supports: () => true,
    async inspect() {
      return fake.inspection;
    },
    async run(action, target, options): Promise<ActionResult> {
      fake.runs.push({ action, target, dryRun: options.dryRun });
      if (fake.hold) await fake.hold.pass();
      await new Promise((resolve) => setTimeout(resolve, fake.delayMs));
      if (fake.failNext) {
        const error = fake.failNext;
        fake.failNext = undefined;
        throw error;
      }
      const who = `${target.domain}\\${target.samAccountName}`;
      const summary = action === 'disable-ad-account' ? `Disabled ${who} in AD` : action === 'reset-password' ? `Reset the password of ${who}` : `${action} ${who}`;
      return { summary, details: { dn: `CN=${target.samAccountName}` }, ...(action === 'reset-password' ? { temporaryPassword: new Secret(TEMP_PASSWORD) } : {}) };
    },
    async readBack() {
      return fake.applied;
    },
  };
  return fake;
}

export interface RecordingMessenger extends Messenger {
  updates: { activityId: string; message: OutboundMessage }[];
  replies: OutboundMessage[];
}

export function recordingMessenger(): RecordingMessenger {
  const m: RecordingMessenger = {
    updates: [],
    replies: [],
    async startThread() {
      throw new Error('not used');
    },
    async reply(thread, message) {
      m.replies.push(message);
      return { conversationId: thread.threadConversationId, activityId: `r${m.replies.length}` };
    },
    async update(_channel, _conversationId, activityId, message) {
      m.updates.push({ activityId, message });
    },
  };
  return m;
}

export interface FakeTurn extends ChatTurn {
  replies: OutboundMessage[];
  privateReplies: OutboundMessage[];
}

export function turnOf(actor: Actor): FakeTurn {
  const turn: FakeTurn = {
    actor,
    conversation: { id: '19:incidents@thread.tacv2;messageid=root1', kind: 'channel' },
    channelReference: { conversation: { id: '19:incidents@thread.tacv2' }, serviceUrl: 'https://connector.test/' },
    targeted: false,
    replies: [],
    privateReplies: [],
    async reply(message) {
      turn.replies.push(message);
    },
    async replyPrivately(message) {
      turn.privateReplies.push(message);
    },
    async typing() {},
  };
  return turn;
}

export function approveClick(action: ActionName, target = JDOE_TARGET, alertKey = 'alert-1'): CardAction {
  return { verb: 'approve', data: { action, alertKey, code: 'IGNORED', target }, via: 'execute', cardActivityId: 'root1' };
}

export interface Harness {
  store: Store;
  workflow: ApprovalWorkflow;
  /** A typed command through the production path: the command handler, which calls the workflow. */
  command(text: string, turn: ChatTurn): Promise<true>;
  remediation: FakeRemediation;
  messenger: RecordingMessenger;
  privateMessages: { to: PrivateRecipient; message: OutboundMessage }[];
  log: CapturedLogger;
  clock: { now: Date };
  record: AlertRecord;
  close(): Promise<void>;
}

export const DEFAULT_SETTINGS: ApprovalSettings = {
  ttlMinutes: 240,
  maxActionsPerHour: 20,
  dryRun: false,
  tempPasswordDelivery: 'private',
  protectedAccounts: [],
  serviceAccounts: ['CN=svc-incidentbot,OU=Service,DC=corp,DC=example,DC=com'],
  protectedApprovals: 2,
};

/** Posts an alert into the store as the notifier would (card location recorded). */
export async function seedAlert(store: Store, alert: Alert): Promise<AlertRecord> {
  await store.upsertAlert(alert, `fp-${alert.key}`);
  await store.claimAlertsToPost('seed', 10, 60_000);
  await store.markAlertPosted(alert.key, 'seed', { conversationId: '19:incidents@thread.tacv2', activityId: `root-${alert.key}`, threadConversationId: `19:incidents@thread.tacv2;messageid=root-${alert.key}` });
  const record = await store.getAlertByKey(alert.key);
  if (!record) throw new Error('seed failed');
  return record;
}

export async function createHarness(
  options: { databaseUrl?: string; settings?: Partial<ApprovalSettings>; store?: Store; seed?: boolean; resolvePerson?: ApprovalWorkflowDeps['resolvePerson'] } = {},
): Promise<Harness> {
  const log = captureLogger();
  const databaseUrl = options.databaseUrl ?? `sqlite:${join(mkdtempSync(join(tmpdir(), 'approvals-')), 'bot.db')}`;
  const store = options.store ?? (await openStore({ databaseUrl, logger: log.logger }));
  const record = options.seed === false ? ((await store.getAlertByKey('alert-1')) as AlertRecord) : await seedAlert(store, identityTheftAlert());
  const remediation = fakeRemediation();
  const messenger = recordingMessenger();
  const privateMessages: Harness['privateMessages'] = [];
  const clock = { now: new Date() };
  const workflow = createApprovalWorkflow({
    store,
    remediation,
    messenger,
    approvers: createUserListApproverCheck([ALICE, BOB, ...APPROVERS].map((a) => a.aadObjectId ?? '')),
    policy: loadActionPolicy(),
    capabilities: { activeDirectory: true, entra: true, okta: false },
    settings: { ...DEFAULT_SETTINGS, ...options.settings },
    logger: log.logger,
    channelFor: async (card) => ({ conversation: { id: card.conversationId }, serviceUrl: 'https://connector.test/' }),
    privateMessenger: {
      async sendPrivate(to, message) {
        privateMessages.push({ to, message });
      },
    },
    now: () => clock.now,
    ...(options.resolvePerson ? { resolvePerson: options.resolvePerson } : {}),
  });
  const approvers = createUserListApproverCheck([ALICE, BOB, ...APPROVERS].map((a) => a.aadObjectId ?? ''));
  const commands = createCommandHandler({ store, approvals: workflow, approvers, capabilities: { activeDirectory: true, entra: true, okta: false }, minSeverity: 'low', logger: log.logger });
  return {
    store,
    workflow,
    async command(text, turn) {
      await commands(text, turn);
      return true;
    },
    remediation,
    messenger,
    privateMessages,
    log,
    clock,
    record,
    close: async () => {
      await workflow.idle();
      if (!options.store) await store.close();
    },
  };
}

/** All visible text of a card (TextBlocks, facts, button titles), for assertions. */
export function cardText(card: unknown): string {
  const parts: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      for (const key of ['text', 'title', 'value']) if (typeof o[key] === 'string') parts.push(o[key] as string);
      Object.values(o).forEach(walk);
    }
  };
  walk(card);
  return parts.join('\n');
}

/** Buttons of a card: verb, title and data. */
export function cardButtons(card: unknown): { verb: string; title: string; data: Record<string, unknown> }[] {
  const found: { verb: string; title: string; data: Record<string, unknown> }[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.type === 'Action.Execute') found.push({ verb: String(o.verb), title: String(o.title), data: (o.data ?? {}) as Record<string, unknown> });
      Object.entries(o).forEach(([key, value]) => key !== 'fallback' && walk(value));
    }
  };
  walk(card);
  return found;
}

/**
 * `const setup = harnessPerTest();` in a test file: each test's `await setup(options)` gets a fresh
 * harness, closed after that test (background work awaited, store closed).
 */
export function harnessPerTest(): (options?: Parameters<typeof createHarness>[0]) => Promise<Harness> {
  let current: Harness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options = {}) => (current = await createHarness(options));
}
