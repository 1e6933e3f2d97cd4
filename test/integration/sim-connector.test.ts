import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CardFactory, type Activity, CloudAdapter, ConfigurationBotFrameworkAuthentication, MessageFactory, TeamsInfo, type ConversationReference, type TurnContext } from 'botbuilder';
import { startBotConnectorServer, TEAMS_RATE_LIMITS, type BotConnectorServer } from '../../sim/teams/bot-connector-server.ts';
import { adaptiveCardAction, channelMention, targetedSlashCommand } from '../../sim/teams/bot-activity.ts';

// The connector stand-in driven by botbuilder itself: CloudAdapter with auth off (empty
// MicrosoftAppId), the way a bot posts alert cards into a Teams channel and replies in the thread.
const CHANNEL = '19:incidents-0000@thread.tacv2';
const TEAM = '19:team-general-0000@thread.tacv2';

let connector: BotConnectorServer;
let adapter: CloudAdapter;

function card(title: string) {
  return CardFactory.adaptiveCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: title }] });
}

function channelReference(serviceUrl: string, conversationId = CHANNEL): Partial<ConversationReference> {
  return { channelId: 'msteams', serviceUrl, conversation: { id: conversationId, isGroup: true, conversationType: 'channel', name: '' }, bot: { id: '28:local-bot', name: 'Incident Bot' } };
}

async function postCardToChannel(serviceUrl: string, title: string): Promise<{ conversationId: string; activityId: string }> {
  let conversationId = '';
  await adapter.createConversationAsync('', 'msteams', serviceUrl, '', { isGroup: true, channelData: { channel: { id: CHANNEL } }, activity: MessageFactory.attachment(card(title)) as Activity, bot: { id: '28:local-bot', name: 'Incident Bot' }, members: [] }, async (context) => {
    conversationId = context.activity.conversation.id;
  });
  // CloudAdapter.createConversationAsync drops the response's activityId (its event activity's id
  // is the conversation id): the root message id is the part after ';messageid='.
  return { conversationId, activityId: conversationId.split(';messageid=')[1] ?? '' };
}

/** One message into a thread, through the adapter (the way the bot replies); resolves to 'ok' or the status. */
async function sendInThread(serviceUrl: string, conversationId: string, text: string): Promise<'ok' | number> {
  return inThread(serviceUrl, conversationId, async (context) => {
    await context.sendActivity(text);
  }).then(
    () => 'ok' as const,
    (e: { statusCode: number }) => e.statusCode,
  );
}

async function inThread(serviceUrl: string, conversationId: string, logic: (context: TurnContext) => Promise<void>): Promise<void> {
  await adapter.continueConversationAsync('', channelReference(serviceUrl, conversationId), logic);
}

beforeAll(async () => {
  connector = await startBotConnectorServer({
    members: [{ id: '29:1alice-teams-user-id', name: 'Alice Example', aadObjectId: '6f1c2d8e-9a34-4b2e-8f61-3c9a4d7ea0b5', userPrincipalName: 'alice@contoso.com', tenantId: '11111111-2222-3333-4444-555555555555', userRole: 'user' }],
    teams: [{ id: TEAM, name: 'SecOps', channels: [{ id: TEAM }, { id: CHANNEL, name: 'Incidents' }] }],
  });
  // Auth off both ways: no MicrosoftAppId, so outbound calls carry no token.
  adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
});

afterAll(async () => {
  await connector?.close();
});

beforeEach(() => {
  connector.reset();
});

describe('local Bot Framework connector through botbuilder', () => {
  it('creates a thread in a channel and answers in Teams shape (id "<channel>;messageid=<root>", activityId)', async () => {
    const { conversationId, activityId } = await postCardToChannel(connector.serviceUrl, 'Alert 1');
    expect(activityId).toMatch(/^\d{13,}$/);
    expect(conversationId).toBe(`${CHANNEL};messageid=${activityId}`);
    expect(connector.sent).toHaveLength(1);
    expect(connector.sent[0]).toMatchObject({ kind: 'create', channelId: CHANNEL, conversationId, activityId, targeted: false });
    expect(connector.cardsPosted(CHANNEL)).toHaveLength(1);
    expect(connector.requests[0]!.headers.authorization).toBeUndefined(); // auth off: no token sent
  });

  it('records a reply in the thread and an update of the root card', async () => {
    const { conversationId, activityId } = await postCardToChannel(connector.serviceUrl, 'Alert 2');
    await inThread(connector.serviceUrl, conversationId, async (context) => {
      await context.sendActivity('Alice approved: disable account');
      const update = MessageFactory.attachment(card('Alert 2 (approved)'));
      update.id = activityId;
      await context.updateActivity(update);
    });
    const replies = connector.repliesIn(activityId);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.activity).toMatchObject({ type: 'message', text: 'Alice approved: disable account' });
    const updates = connector.updatesFor(activityId);
    expect(updates).toHaveLength(1);
    expect(connector.currentActivity(activityId)).toMatchObject({ attachments: [{ content: { body: [{ text: 'Alert 2 (approved)' }] } }] });
    // continueConversationAsync keeps the reference's thread, and botbuilder posts to /activities/{replyToId}.
    expect(connector.sent.map((r) => r.kind)).toEqual(['create', 'reply', 'update']);
    expect(replies[0]!.conversationId).toBe(conversationId);
  });

  it('refuses to update an activity it never issued (404), visible to the caller', async () => {
    const { conversationId } = await postCardToChannel(connector.serviceUrl, 'Alert 3');
    await expect(
      inThread(connector.serviceUrl, conversationId, async (context) => {
        await context.updateActivity({ ...MessageFactory.text('x'), id: '1111111111111' });
      }),
    ).rejects.toMatchObject({ statusCode: 404 });
    expect(connector.updatesFor('1111111111111')).toHaveLength(0);
  });

  it('makes 429 visible to the caller once botbuilder has spent its retries (1 try + 3 retries)', async () => {
    connector.faults.push({ status: 429, retryAfterSeconds: 0, times: 4, kinds: ['create'] });
    const error = await postCardToChannel(connector.serviceUrl, 'Alert 4').catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 429 });
    expect(connector.rejected.map((r) => `${r.kind} ${r.status} ${r.reason}`)).toEqual(Array(4).fill('create 429 fault'));
    expect(connector.sent).toHaveLength(0);
    // The fault is spent: the same call now succeeds.
    await postCardToChannel(connector.serviceUrl, 'Alert 4');
    expect(connector.sent).toHaveLength(1);
  });

  it('lets botbuilder ride over a single 429, honouring Retry-After', async () => {
    connector.faults.push({ status: 429, retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    await postCardToChannel(connector.serviceUrl, 'Alert 5');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(connector.rejected).toHaveLength(1);
    expect(connector.sent).toHaveLength(1);
  });

  it('fails exactly the given share of requests, deterministically (every 5th for 0.2)', async () => {
    // 412 is not retried by botbuilder, so each failure reaches the caller.
    connector.faults.push({ status: 412, share: 0.2 });
    const { conversationId } = await postCardToChannel(connector.serviceUrl, 'root'); // request 1
    const outcomes: (number | 'ok')[] = [];
    for (let i = 0; i < 9; i++) outcomes.push(await sendInThread(connector.serviceUrl, conversationId, `n${i}`));
    // Requests 2..10: the 5th and 10th overall fail.
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 412, 'ok', 'ok', 'ok', 'ok', 412]);
  });

  it('enforces Teams rate limits per conversation (7/s) when enabled; botbuilder retries the 429s after Retry-After', async () => {
    connector.rateLimits = TEAMS_RATE_LIMITS;
    try {
      const { conversationId } = await postCardToChannel(connector.serviceUrl, 'storm');
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => sendInThread(connector.serviceUrl, conversationId, `burst ${i}`)));
      expect(results).toEqual(Array(10).fill('ok'));
      // The root post and the thread are one conversation (the channel): root + 6 replies fit in
      // the first second, 4 refused; after 1 s the 8-per-2s window admits one of the 4 retries, the
      // other 3 get in after 2 s: 4 + 3 rejections.
      expect(connector.rejected.map((r) => `${r.status} ${r.reason}`)).toEqual(Array(7).fill('429 rate-limit'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      const times = connector.sent.map((r) => r.at.getTime());
      for (const t of times) {
        expect(times.filter((u) => u > t - 1000 && u <= t).length).toBeLessThanOrEqual(7);
        expect(times.filter((u) => u > t - 2000 && u <= t).length).toBeLessThanOrEqual(8);
      }
      // Teams counts the channel as one conversation: another thread of it shares the budget...
      const before = connector.rejected.length;
      const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => sendInThread(connector.serviceUrl, `${CHANNEL};messageid=1700000000000`, `sibling ${i}`)));
      expect(burst).toEqual(Array(8).fill('ok'));
      expect(connector.rejected.length).toBeGreaterThan(before);
      expect(connector.rejected.slice(before).every((r) => r.conversationId.startsWith(`${CHANNEL};messageid=`))).toBe(true);
      // ...while another channel has its own.
      const rejectedSoFar = connector.rejected.length;
      expect(await sendInThread(connector.serviceUrl, '19:elsewhere-0000@thread.tacv2;messageid=1', 'fine')).toBe('ok');
      expect(connector.rejected).toHaveLength(rejectedSoFar);
    } finally {
      connector.rateLimits = undefined;
    }
  });

  it('records ?isTargetedActivity=true on a targeted reply', async () => {
    const inbound = targetedSlashCommand({ serviceUrl: connector.serviceUrl, botAppId: 'local-bot' }, { text: '/mdi status' });
    expect(inbound.recipient).toMatchObject({ isTargeted: true });
    // botbuilder 4.23 has no targeted-send API; the Teams REST contract is a query flag on the URL.
    const response = await fetch(`${connector.url}/v3/conversations/${encodeURIComponent(CHANNEL)}/activities?isTargetedActivity=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'only you', recipient: inbound.from, entities: [{ type: 'targetedMessageInfo', messageId: inbound.id }] }),
    });
    expect(response.status).toBe(201);
    expect(connector.sent.at(-1)).toMatchObject({ kind: 'send', conversationId: CHANNEL, targeted: true });
    expect(connector.sent.at(-1)!.activity).toMatchObject({ text: 'only you' });
  });

  it('serves Teams lookups: member by id and the team channel list (TeamsInfo)', async () => {
    const inbound = channelMention({ serviceUrl: connector.serviceUrl, botAppId: 'local-bot' }, { command: 'subscribe' });
    const reference = { ...channelReference(connector.serviceUrl), activityId: inbound.id };
    await adapter.continueConversationAsync('', reference, async (context) => {
      context.activity.channelData = inbound.channelData;
      const member = await TeamsInfo.getMember(context, '29:1alice-teams-user-id');
      expect(member).toMatchObject({ aadObjectId: '6f1c2d8e-9a34-4b2e-8f61-3c9a4d7ea0b5', userPrincipalName: 'alice@contoso.com' });
      const channels = await TeamsInfo.getTeamChannels(context, TEAM);
      expect(channels.map((c) => c.id)).toEqual([TEAM, CHANNEL]);
    });
  });

  it('builds Teams-shaped inbound activities (mention, invoke)', () => {
    const ctx = { serviceUrl: connector.serviceUrl, botAppId: 'local-bot' };
    const mention = channelMention(ctx, { command: 'subscribe' });
    expect(mention).toMatchObject({ type: 'message', text: '<at>Incident Bot</at> subscribe', conversation: { id: CHANNEL, conversationType: 'channel' }, channelData: { channel: { id: CHANNEL }, tenant: { id: expect.any(String) } } });
    const invoke = adaptiveCardAction(ctx, { verb: 'approve', data: { actionId: 'a1' }, cardActivityId: '1732000000000' });
    expect(invoke).toMatchObject({ type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'approve', data: { actionId: 'a1' } }, trigger: 'manual' }, replyToId: '1732000000000' });
    expect(invoke.conversation.id).toBe(`${CHANNEL};messageid=1732000000000`);
  });
});

describe('connector with an outbound token check', () => {
  it('answers 401 to a bot that sends no valid bearer token', async () => {
    const guarded = await startBotConnectorServer({ verifyToken: (header) => header === 'Bearer expected-token' });
    try {
      const error = await postCardToChannel(guarded.serviceUrl, 'no token').catch((e: unknown) => e);
      expect(error).toMatchObject({ statusCode: 401 });
      expect(guarded.sent).toHaveLength(0);
      expect(guarded.requests[0]!.headers.authorization).toBeUndefined();
    } finally {
      await guarded.close();
    }
  });
});

describe('plain-http connector', () => {
  it('accepts calls from botbuilder with an http serviceUrl when auth is off', async () => {
    const http = await startBotConnectorServer({ protocol: 'http' });
    try {
      expect(http.serviceUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const { conversationId, activityId } = await postCardToChannel(http.serviceUrl, 'over http');
      expect(conversationId).toBe(`${CHANNEL};messageid=${activityId}`);
      expect(http.sent).toHaveLength(1);
    } finally {
      await http.close();
    }
  });
});
