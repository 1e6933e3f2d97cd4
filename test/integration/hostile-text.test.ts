import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadActionPolicy } from '../../src/actions/action-policy.ts';
import { proposeActions } from '../../src/actions/propose-actions.ts';
import { mapGraphAlert } from '../../src/adapters/graph/graph-alert-mapper.ts';
import { mapSecurityAlertRow } from '../../src/adapters/loganalytics/security-alert-mapper.ts';
import { bindReason } from '../../src/adapters/ldap/ldap-errors.ts';
import { plain, renderAlertCard, summarize, toAlertCardData } from '../../src/cards/alert-card.ts';
import { parseCommand } from '../../src/commands/parse-command.ts';
import { fingerprintAlert } from '../../src/domain/alert-fingerprint.ts';
import { parseApprovalCommand } from '../../src/approvals/approval-request.ts';
import { graphFixture, sentinelFixture } from '../fixtures/load.ts';
import { ALICE_USER, adaptiveCardAction, personalMessage } from '../../sim/teams/bot-activity.ts';
import { startTestBot } from '../support/test-bot.ts';
import { startBotConnectorServer, type BotConnectorServer } from '../../sim/teams/bot-connector-server.ts';
import { labJsonHeaders } from '../support/lab-secret.ts';

/**
 * Issue 11, bounded work per request: every path where untrusted text meets a regex or a card is
 * fed 100 KB of adversarial input (long runs that make backtracking regexes quadratic, e.g. a
 * 40,000-character alert description once blocked the event loop for 1.2 s in the card's sentence
 * regex), and the event loop's delay is measured while it runs. Bound: 50 ms per path.
 */

const SIZE = 100 * 1024;
const fill = (unit: string, tail = '') => unit.repeat(Math.ceil((SIZE - tail.length) / unit.length)).slice(0, SIZE - tail.length) + tail;

/** Inputs known to hurt backtracking regexes and naive scanners. */
const HOSTILE: Record<string, string> = {
  'one long word then a dot and a letter': fill('a', '.b'),
  'dots without spaces': fill('a.'),
  'terminators only': fill('.!?'),
  'whitespace runs': fill(' \t\n', 'x'),
  'control characters': fill('\u0000\u0007\u2028'),
  'markdown syntax': fill('*_[]()~<>`#\\'),
  'unclosed mentions': fill('<at>'),
  'snake case without _error': fill('a_'),
  'almost an LDAP data code': fill('data 0'),
  'backslashes': fill('\\'),
  'unicode and surrogates': fill('é漢😀\u200b'),
  'a DN-ish run': fill('cn=a,'),
};

/** Max event-loop delay (ms) while `work` runs: a timer that should fire every ms, and how late it was. */
async function eventLoopDelayOf(work: () => unknown | Promise<unknown>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await new Promise((r) => setTimeout(r, 5));
  await work();
  await new Promise((r) => setTimeout(r, 5));
  histogram.disable();
  return histogram.max / 1e6;
}

/**
 * The least of five runs: the machine is shared (a load of 7 on 2 cores is common here), so one
 * run can be starved of CPU, while an input-dependent cost (a backtracking regex) shows in every
 * run. The first run also pays one-time costs (card template compilation, JIT).
 */
async function delayOf(work: () => unknown | Promise<unknown>): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) runs.push(await eventLoopDelayOf(work));
  if (process.env.HOSTILE_TEXT_VERBOSE) process.stdout.write(`delays ${runs.map((r) => r.toFixed(1)).join(' ')}\n`);
  return Math.min(...runs);
}

const policy = loadActionPolicy();
const ALL = { activeDirectory: true, entra: true, okta: true };

const textPaths: Record<string, (text: string) => unknown> = {
  'card summary (alert description)': (text) => summarize(text),
  'card text (title, names, footer)': (text) => plain(text, 120),
  'Graph alert → card (title, description, account names)': (text) => {
    const raw = graphFixture('brute-force') as Record<string, unknown>;
    const evidence = (raw.evidence as Record<string, unknown>[]).map((e) => ({ ...e, userAccount: { ...(e.userAccount as object), displayName: text, accountName: text.slice(0, 300) } }));
    const { alert } = mapGraphAlert({ ...raw, title: text, description: text, evidence });
    fingerprintAlert(alert);
    return renderAlertCard(toAlertCardData(alert, { referenceCode: 'IB-7K2Q', proposedActions: proposeActions(alert, policy, ALL), statusLine: text, footer: text }));
  },
  'Sentinel row → card (description, entities)': (text) => {
    const row = sentinelFixture('brute-force-aatp') as Record<string, unknown>;
    const { alert } = mapSecurityAlertRow({ ...row, AlertName: text, Description: text, CompromisedEntity: text });
    return renderAlertCard(toAlertCardData(alert, { referenceCode: 'IB-7K2Q', proposedActions: [] }));
  },
  'typed command parsing': (text) => parseCommand(text),
  'approval command parsing': (text) => parseApprovalCommand(`approve ${text}`),
  'LDAP error text': (text) => bindReason(text),
};

describe('100 KB of adversarial text on every text path: no event-loop delay over 50 ms', () => {
  it.each(Object.keys(textPaths))('%s', async (path) => {
    const worst: Array<[string, number]> = [];
    for (const [name, text] of Object.entries(HOSTILE)) {
      expect(text.length).toBeGreaterThanOrEqual(SIZE - 4);
      worst.push([name, await delayOf(() => textPaths[path]!(text))]);
    }
    expect(worst.filter(([, ms]) => ms > 50)).toEqual([]);
  });

  describe('through the bot endpoint (front door, inbound guard, turn logic)', () => {
    let bot: Awaited<ReturnType<typeof startTestBot>>;
    let connector: BotConnectorServer;
    const ctx = () => ({ serviceUrl: connector.serviceUrl, botAppId: 'incident-bot-local' });
    beforeAll(async () => {
      connector = await startBotConnectorServer();
      bot = await startTestBot({ BOT_AUTH: 'off' });
    });
    afterAll(async () => {
      await bot?.stop();
      await connector?.close();
    });
    // JSON escaping can take 100 KB of text past the 256 KiB body cap: 413 is bounded work too.
    // The body is encoded before the measurement: the client's own JSON work is not the bot's.
    const encode = (activity: unknown) => Buffer.from(JSON.stringify(activity));
    const post = (body: Buffer) => fetch(`${bot.url}/api/messages`, { method: 'POST', headers: labJsonHeaders(), body }).then((r) => r.status);

    it.each(Object.entries(HOSTILE))('a 100 KB message of %s', async (_name, text) => {
      let status = 0;
      const body = encode(personalMessage(ctx(), { user: ALICE_USER, text }));
      const ms = await delayOf(async () => (status = await post(body)));
      expect([200, 413]).toContain(status);
      expect(ms).toBeLessThan(50);
    });

    it.each(Object.entries(HOSTILE))('100 KB of card data of %s', async (_name, text) => {
      let status = 0;
      const body = encode(adaptiveCardAction(ctx(), { user: ALICE_USER, verb: 'approve', data: { action: text, alertKey: text }, cardActivityId: '1' }));
      const ms = await delayOf(async () => (status = await post(body)));
      expect([200, 413]).toContain(status);
      expect(ms).toBeLessThan(50);
    });
  });
});
