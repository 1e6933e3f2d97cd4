import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatTurn } from '../../src/domain/ports/chat.ts';
import { ALICE_USER, BOB_USER, channelMention, personalMessage, targetedSlashCommand } from '../../sim/teams/bot-activity.ts';
import { startBotConnectorServer, type BotConnectorServer } from '../../sim/teams/bot-connector-server.ts';
import { startCommandBot, type CommandBot } from '../support/command-bot.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';

// Targeted messages as the Teams docs specify them for REST
// (https://learn.microsoft.com/microsoftteams/platform/agents-in-teams/targeted-messages):
// POST /v3/conversations/{conversationId}/activities?isTargetedActivity=true, the recipient the
// one person who sees it, a targetedMessageInfo entity naming the message answered; no replies.

let connector: BotConnectorServer;
let bot: CommandBot;
const seen: string[] = [];

async function answerPrivately(text: string, turn: ChatTurn): Promise<void> {
  seen.push(text);
  await turn.replyPrivately({ text: `only for ${turn.actor.name}: ${text}` });
}

beforeAll(async () => {
  connector = await startBotConnectorServer({ protocol: 'http' });
  bot = await startCommandBot({ onCommand: answerPrivately, connector, logger: captureLogger('warn').logger });
});

afterAll(async () => {
  await bot?.close();
  await connector?.close();
});

beforeEach(() => {
  connector.reset();
  connector.requests.length = 0;
  seen.length = 0;
});

const teams = () => ({ serviceUrl: connector.serviceUrl, botAppId: 'local-incident-bot' });
const writes = () => connector.requests.filter((r) => r.method !== 'GET');

describe('targeted messages', () => {
  it('answers a slash command in a channel with POST /v3/conversations/{id}/activities?isTargetedActivity=true, never the reply endpoint', async () => {
    const inbound = targetedSlashCommand(teams(), { text: '/status' });
    const { status, posts } = await bot.send(inbound);
    expect(status).toBe(200);
    expect(seen).toHaveLength(1);

    const conversationId = String((inbound.conversation as { id: string }).id);
    expect(writes().map((r) => `${r.method} ${r.path}?${r.query.toString()}`)).toEqual([`POST /v3/conversations/${encodeURIComponent(conversationId)}/activities?isTargetedActivity=true`]);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ kind: 'send', conversationId, targeted: true });
    expect(posts[0]!.replyToId).toBeUndefined();
    const activity = posts[0]!.activity!;
    expect(activity.recipient).toMatchObject({ id: ALICE_USER.id, aadObjectId: ALICE_USER.aadObjectId });
    expect(activity.entities).toEqual([{ type: 'targetedMessageInfo', messageId: inbound.id }]);
    expect(activity.replyToId).toBeUndefined();
    expect(String(activity.text)).toContain('only for Alice Example');
  });

  it('targets the sender, not whoever the message names (another user cannot receive it through the command)', async () => {
    const inbound = targetedSlashCommand(teams(), { user: BOB_USER, text: `/lookup ${ALICE_USER.id}` });
    const { posts } = await bot.send(inbound);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.activity!.recipient).toMatchObject({ id: BOB_USER.id });
  });

  it('an @mention in a channel is answered privately the same way (targeted, in its thread)', async () => {
    const inbound = channelMention(teams(), { command: 'pending', threadRootId: '1700000000000' });
    const { posts } = await bot.send(inbound);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ kind: 'send', targeted: true, conversationId: String((inbound.conversation as { id: string }).id) });
  });

  it('a personal chat is answered with a plain reply: targeted messages do not exist there', async () => {
    const { posts } = await bot.send(personalMessage(teams(), { text: 'help' }));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.targeted).toBe(false);
  });

  it('falls back to a visible reply in the conversation when the connector refuses the targeted message', async () => {
    connector.faults.push({ status: 403, times: 1, targeted: true });
    const { posts } = await bot.send(targetedSlashCommand(teams(), { text: '/help' }));
    expect(connector.rejected.map((r) => [r.kind, r.status])).toEqual([['send', 403]]);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ targeted: false });
  });
});

describe('the local connector holds to the targeted-message contract', () => {
  const post = (path: string, body: unknown) =>
    fetch(`${connector.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const CHANNEL = encodeURIComponent('19:incidents-0000@thread.tacv2');

  it('refuses the old reply endpoint with the targeted flag: 404, nothing delivered', async () => {
    const response = await post(`/v3/conversations/${CHANNEL}/activities/1700000000000?isTargetedActivity=true`, { type: 'message', text: 'x', recipient: { id: ALICE_USER.id } });
    expect(response.status).toBe(404);
    expect(connector.sent).toEqual([]);
  });

  it('refuses a targeted message without a recipient, and one into a 1:1 chat', async () => {
    expect((await post(`/v3/conversations/${CHANNEL}/activities?isTargetedActivity=true`, { type: 'message', text: 'x' })).status).toBe(400);
    expect((await post(`/v3/conversations/${encodeURIComponent('a:1personal')}/activities?isTargetedActivity=true`, { type: 'message', text: 'x', recipient: { id: ALICE_USER.id } })).status).toBe(400);
    expect(connector.sent).toEqual([]);
  });
});
