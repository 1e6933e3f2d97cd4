/**
 * Card invoke latency: an analyst presses Approve (Action.Execute, invoke `adaptiveCard/action`)
 * on an alert card; time from the POST to /api/messages until the HTTP answer (the updated card)
 * is read, until the card is updated for everyone (the last update the click caused reaches the
 * connector) and until the result is replied in the alert's thread. The real bot
 * (startIncidentBot) polls the local Graph, posts one card per alert to the local connector, and
 * each click goes to a distinct alert. Two phases, each with a bot of its own: DRY_RUN=true (every
 * step except the change itself) and DRY_RUN=false (the action really runs against the local Graph
 * through the SDK; its own round trips are the difference).
 *
 * Clicks come at a rate Teams' limits allow for one channel (a click costs up to three calls in
 * the channel: the card updated as running, updated with the result, the reply), one every
 * BENCH_CLICK_GAP_MS, after the channel's 30 s window has emptied of the card posts: the figures
 * are the bot's own latency, not a queue behind the channel's limits.
 *
 *   node bench/card-invoke.ts     BENCH_CLICKS (30 per phase), BENCH_ACTION (revoke-sessions), BENCH_CLICK_GAP_MS (1600)
 *
 * Targets: invoke answered p95 < 1000 ms (issue 4); with DRY_RUN, result in thread and card
 * updated for everyone p95 <= 250 ms (issue 16).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALICE_USER, adaptiveCardAction, type TeamsContext } from '../sim/teams/bot-activity.ts';
import { startBotConnectorServer, type SentRecord } from '../sim/teams/bot-connector-server.ts';
import { mdiAlert } from '../sim/graph/graph-alert-factory.ts';
import { addUser, createTenant, putAlert } from '../sim/tenant.ts';
import { startLabCloud } from '../sim/local-cloud.ts';
import { LAB_SECRET_HEADER } from '../src/http/front-door.ts';
import { distribution, intEnv, runBench, under, waitFor, type BenchResult } from './lib/bench-report.ts';
import { startBenchBot } from './lib/bench-bot.ts';
import { ensureTrustedTestCa } from './lib/trusted-ca.ts';

ensureTrustedTestCa(import.meta.filename);

const CLICKS = intEnv('BENCH_CLICKS', 30);
const ACTION = process.env.BENCH_ACTION ?? 'revoke-sessions';
const GAP_MS = intEnv('BENCH_CLICK_GAP_MS', 1600);
const CHANNEL = '19:bench-incidents-0000@thread.tacv2';
const BOT_APP_ID = 'incident-bot-local'; // what the composition root uses with BOT_AUTH=off
const TARGET_MS = 1000;
const THREAD_TARGET_MS = 250;
/** Teams' longest short window in a channel (60 per 30 s): the card posts must have left it. */
const CHANNEL_WINDOW_MS = 30_000;

interface Button {
  record: SentRecord;
  data: Record<string, unknown>;
}

function approveButton(record: SentRecord, action: string): Button | undefined {
  let found: Record<string, unknown> | undefined;
  const walk = (node: unknown): void => {
    if (found || !node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(walk);
    const o = node as Record<string, unknown>;
    if (o.type === 'Action.Execute' && o.verb === 'approve' && (o.data as Record<string, unknown> | undefined)?.action === action) found = o.data as Record<string, unknown>;
    else Object.values(o).forEach(walk);
  };
  walk(record.activity?.attachments);
  return found ? { record, data: found } : undefined;
}

await runBench('card-invoke', async (result) => {
  result.setup = `${CLICKS} Approve clicks (${ACTION}) per phase on distinct alert cards, one every ${GAP_MS} ms, real bot, SQLite file store; phases DRY_RUN=true and DRY_RUN=false`;
  await phase(result, true);
  await phase(result, false);
  result.notes.push('clicks are sequential, each on its own alert and thread, paced as Teams allows one channel');
});

async function phase(result: BenchResult, dryRun: boolean): Promise<void> {
  const label = dryRun ? 'dry run' : 'real run';
  const dir = mkdtempSync(join(tmpdir(), `bench-invoke-${dryRun ? 'dry' : 'real'}-`));
  const tenant = createTenant();
  const users = Array.from({ length: CLICKS }, (_, i) => addUser(tenant, { name: `bench.user${String(i).padStart(3, '0')}` }));
  const recent = Date.now() - 10 * 60_000;
  for (const [i, user] of users.entries()) {
    const at = new Date(recent + i * 1000);
    putAlert(tenant, mdiAlert({ kind: 'passTheTicket', tenantId: tenant.tenantId, accounts: [user], createdDateTime: at, lastUpdateDateTime: at, device: null }));
  }
  const cloud = await startLabCloud(tenant);
  // The clicker is a member of the conversation, as in Teams: the bot confirms that before counting a vote.
  const connector = await startBotConnectorServer({ members: [{ id: ALICE_USER.id, name: ALICE_USER.name, aadObjectId: ALICE_USER.aadObjectId, tenantId: tenant.tenantId, userRole: 'user' }] });
  let bot: Awaited<ReturnType<typeof startBenchBot>> | undefined;
  try {
    bot = await startBenchBot(
      {
        ...cloud.botEnv,
        ALERT_SOURCES: 'graph',
        DATABASE_URL: `sqlite:${join(dir, 'bot.db')}`,
        TEAMS_CHANNEL_ID: CHANNEL,
        TEAMS_SERVICE_URL: connector.serviceUrl,
        TEAMS_TENANT_ID: tenant.tenantId,
        APPROVER_USER_IDS: ALICE_USER.aadObjectId,
        DRY_RUN: String(dryRun),
        MAX_ACTIONS_PER_HOUR: '10000',
      },
      join(dir, 'bot.log'),
    );
    // The notifier's first round posts every card (paced: new threads count against the channel).
    const cards = await waitFor(`${CLICKS} alert cards`, 120_000, () => {
      const posted = connector.cardsPosted();
      return posted.length >= CLICKS ? posted : undefined;
    }, 100);
    const buttons = cards.map((record) => approveButton(record, ACTION)).filter((b): b is Button => b !== undefined);
    if (buttons.length < CLICKS) throw new Error(`only ${buttons.length} of ${cards.length} cards offer an approve button for ${ACTION}`);
    const teams: TeamsContext = { serviceUrl: connector.serviceUrl, botAppId: BOT_APP_ID, tenantId: tenant.tenantId, channelId: CHANNEL };
    // The card posts must have left the channel's 30 s window (plus a margin for their answers).
    const lastPost = Math.max(...cards.map((r) => r.at.getTime()));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastPost + CHANNEL_WINDOW_MS + 500 - Date.now())));

    const answers: number[] = [];
    const clicks: { root: string; at: number; sentBefore: number }[] = [];
    let refused = 0;
    for (const [index, { record, data }] of buttons.entries()) {
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(0, clicks.at(-1)!.at + GAP_MS - Date.now())));
      const root = record.activityId;
      const activity = adaptiveCardAction(teams, { verb: 'approve', data, cardActivityId: root, threadRootId: root });
      const sentBefore = connector.sent.length;
      const started = performance.now();
      const at = Date.now();
      const response = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', [LAB_SECRET_HEADER]: bot.labSecret ?? '' }, body: JSON.stringify(activity) });
      const body = await response.text();
      answers.push(performance.now() - started);
      clicks.push({ root, at, sentBefore });
      // The answer must be the updated card; a message instead is an explanation of a refusal.
      const parsed = JSON.parse(body || '{}') as { statusCode?: number; type?: string; value?: unknown };
      if (response.status !== 200 || parsed.type !== 'application/vnd.microsoft.card.adaptive') {
        refused++;
        if (refused <= 3) result.errors.push(`click on ${root}: HTTP ${response.status} ${body.slice(0, 200)}`);
      }
    }

    // After the answer: the card updated for everyone (the last update the click caused: the
    // result), and the result replied in the thread.
    const replyOf = (root: string, after: number) => connector.sent.slice(after).find((r) => (r.kind === 'reply' || r.kind === 'send') && (r.replyToId === root || r.conversationId.endsWith(`;messageid=${root}`)));
    const lastUpdateOf = (root: string, after: number) => connector.sent.slice(after).filter((r) => r.kind === 'update' && r.activityId === root).at(-1);
    await waitFor('every result in its thread', 60_000, () => clicks.every((c) => replyOf(c.root, c.sentBefore)), 100).catch((error: Error) => result.errors.push(error.message));
    // Updates settle with the reply or just after it.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const updates = clicks.flatMap((c) => {
      const r = lastUpdateOf(c.root, c.sentBefore);
      return r ? [r.at.getTime() - c.at] : [];
    });
    const replies = clicks.flatMap((c) => {
      const r = replyOf(c.root, c.sentBefore);
      return r ? [r.at.getTime() - c.at] : [];
    });
    const seconds = answers.reduce((a, b) => a + b, 0) / 1000;
    const answered = distribution(answers);
    const updated = distribution(updates);
    const replied = distribution(replies);
    const threadTarget = dryRun ? `p95 <= ${THREAD_TARGET_MS} ms` : '';
    const threadVerdict = (p95: number | undefined) => (dryRun ? (p95 !== undefined && p95 <= THREAD_TARGET_MS ? 'PASS' : 'FAIL') : 'info');
    result.rows.push(
      { metric: `${label}: invoke answered (HTTP, updated card)`, ...answered, rate: `${(answers.length / seconds).toFixed(1)} clicks/s`, target: `p95 < ${TARGET_MS} ms`, verdict: under(answered.p95!, TARGET_MS) },
      { metric: `${label}: card updated for everyone`, ...updated, target: threadTarget, verdict: threadVerdict(updated.p95) },
      { metric: `${label}: result replied in thread`, ...replied, target: threadTarget, verdict: threadVerdict(replied.p95) },
    );
    if (refused > 0) result.errors.push(`${refused} of ${answers.length} clicks were not answered with the updated card`);
    const failedRuns = clicks.filter((c) => /fail|error/i.test(String(replyOf(c.root, c.sentBefore)?.activity?.text ?? ''))).length;
    if (failedRuns > 0) result.errors.push(`${label}: ${failedRuns} executions reported a failure in their thread`);
  } finally {
    await bot?.stop();
    await Promise.all([connector.close(), cloud.stop()]);
    if (result.errors.length > 0 || process.env.BENCH_KEEP_LOG) result.notes.push(`bot log kept: ${join(dir, 'bot.log')}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
