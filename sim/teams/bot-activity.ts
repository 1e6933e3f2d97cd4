import { randomUUID } from 'node:crypto';

/**
 * Builders of Teams-shaped inbound activities to POST to a bot's /api/messages, shaped like what
 * Teams sends: conversation ids `19:...@thread.tacv2` (channels) and `a:...` (1:1), user ids
 * `29:...` with aadObjectId, bot ids `28:<appId>`, channelData.team/channel/tenant, serviceUrl
 * pointing at the local connector stand-in.
 */
export interface TeamsUser {
  id: string;
  name: string;
  aadObjectId: string;
}

export interface TeamsContext {
  serviceUrl: string;
  botAppId: string;
  botName?: string;
  tenantId?: string;
  teamId?: string;
  teamName?: string;
  channelId?: string;
  channelName?: string;
}

export type InboundActivity = Record<string, unknown> & { type: string; id: string; serviceUrl: string; conversation: Record<string, unknown> };

export const ALICE_USER: TeamsUser = { id: '29:1alice-teams-user-id', name: 'Alice Example', aadObjectId: '6f1c2d8e-9a34-4b2e-8f61-3c9a4d7ea0b5' };
export const BOB_USER: TeamsUser = { id: '29:1bob-teams-user-id', name: 'Bob Analyst', aadObjectId: '3e0a9b7c-1d2e-4f30-9a8b-7c6d5e4f3a2b' };

const DEFAULTS = {
  tenantId: '11111111-2222-3333-4444-555555555555',
  teamId: '19:team-general-0000@thread.tacv2',
  teamName: 'SecOps',
  channelId: '19:incidents-0000@thread.tacv2',
  channelName: 'Incidents',
  botName: 'Incident Bot',
};

function resolved(ctx: TeamsContext) {
  return { ...DEFAULTS, ...Object.fromEntries(Object.entries(ctx).filter(([, v]) => v !== undefined)) } as Required<TeamsContext>;
}

function bot(c: Required<TeamsContext>): Record<string, unknown> {
  return { id: `28:${c.botAppId}`, name: c.botName };
}

function from(user: TeamsUser): Record<string, unknown> {
  return { id: user.id, name: user.name, aadObjectId: user.aadObjectId };
}

// Teams message ids are epoch milliseconds; a counter keeps ids built in the same ms distinct.
let lastInboundId = Date.now();

function base(c: Required<TeamsContext>, user: TeamsUser): { id: string; serviceUrl: string } & Record<string, unknown> {
  return {
    id: String(++lastInboundId),
    timestamp: new Date().toISOString(),
    localTimestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: c.serviceUrl,
    from: from(user),
    recipient: bot(c),
    locale: 'en-US',
    textFormat: 'plain',
  };
}

function channelConversation(c: Required<TeamsContext>, threadRootId?: string): Record<string, unknown> {
  return {
    isGroup: true,
    conversationType: 'channel',
    tenantId: c.tenantId,
    id: threadRootId ? `${c.channelId};messageid=${threadRootId}` : c.channelId,
  };
}

function channelData(c: Required<TeamsContext>): Record<string, unknown> {
  return {
    teamsChannelId: c.channelId,
    teamsTeamId: c.teamId,
    channel: { id: c.channelId, name: c.channelName },
    team: { id: c.teamId, name: c.teamName, aadGroupId: '7a1b2c3d-0000-4000-8000-00000000aa01' },
    tenant: { id: c.tenantId },
  };
}

/** A channel message that @mentions the bot: text `<at>Bot</at> subscribe`, mention entity included. */
export function channelMention(ctx: TeamsContext, options: { user?: TeamsUser; command: string; threadRootId?: string; mentions?: TeamsUser[] }): InboundActivity {
  const c = resolved(ctx);
  const user = options.user ?? ALICE_USER;
  const mention = `<at>${c.botName}</at>`;
  // Other people @mentioned after the command, as Teams sends them: <at>Name</at> in the text and
  // a mention entity each (id = the Teams user id).
  const people = options.mentions ?? [];
  const peopleText = people.map((p) => ` <at>${p.name}</at>`).join('');
  return {
    ...base(c, user),
    type: 'message',
    text: `${mention} ${options.command}${peopleText}`,
    conversation: channelConversation(c, options.threadRootId),
    channelData: channelData(c),
    entities: [
      { type: 'mention', text: mention, mentioned: { id: `28:${c.botAppId}`, name: c.botName } },
      ...people.map((p) => ({ type: 'mention', text: `<at>${p.name}</at>`, mentioned: { id: p.id, name: p.name } })),
      { type: 'clientInfo', locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/Berlin' },
    ],
    ...(options.threadRootId ? { replyToId: options.threadRootId } : {}),
  };
}

/** A 1:1 chat message to the bot (no mention needed). */
export function personalMessage(ctx: TeamsContext, options: { user?: TeamsUser; text: string }): InboundActivity {
  const c = resolved(ctx);
  const user = options.user ?? ALICE_USER;
  return {
    ...base(c, user),
    type: 'message',
    text: options.text,
    conversation: { conversationType: 'personal', tenantId: c.tenantId, id: `a:1${Buffer.from(user.id).toString('base64url')}` },
    channelData: { tenant: { id: c.tenantId } },
    entities: [{ type: 'clientInfo', locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/Berlin' }],
  };
}

/**
 * A targeted message (Teams slash command to the bot in a group conversation): only the bot and
 * the sender see it; Teams marks it with `recipient.isTargeted: true` (per the Teams targeted
 * messages docs). The bot's answer should go back with `?isTargetedActivity=true`.
 */
export function targetedSlashCommand(ctx: TeamsContext, options: { user?: TeamsUser; text: string }): InboundActivity {
  const c = resolved(ctx);
  const user = options.user ?? ALICE_USER;
  return {
    ...base(c, user),
    type: 'message',
    text: options.text,
    recipient: { ...bot(c), isTargeted: true },
    conversation: channelConversation(c),
    channelData: channelData(c),
    entities: [{ type: 'clientInfo', locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/Berlin' }],
  };
}

/** An Action.Execute click: invoke `adaptiveCard/action`, answered synchronously by the bot. */
export function adaptiveCardAction(
  ctx: TeamsContext,
  options: { user?: TeamsUser; verb: string; data?: Record<string, unknown>; actionId?: string; cardActivityId: string; threadRootId?: string },
): InboundActivity {
  const c = resolved(ctx);
  const user = options.user ?? ALICE_USER;
  return {
    ...base(c, user),
    id: `f:${randomUUID()}`,
    type: 'invoke',
    name: 'adaptiveCard/action',
    conversation: channelConversation(c, options.threadRootId ?? options.cardActivityId),
    channelData: { ...channelData(c), source: { name: 'message' }, legacy: { replyToId: options.cardActivityId } },
    replyToId: options.cardActivityId,
    value: {
      action: { type: 'Action.Execute', id: options.actionId ?? options.verb, verb: options.verb, data: options.data ?? {} },
      trigger: 'manual',
    },
  };
}

/** An Action.Submit click (v1.2-style cards, fallback): a message whose `value` is the action data. */
export function actionSubmit(ctx: TeamsContext, options: { user?: TeamsUser; data: Record<string, unknown>; cardActivityId: string; threadRootId?: string }): InboundActivity {
  const c = resolved(ctx);
  const user = options.user ?? ALICE_USER;
  return {
    ...base(c, user),
    type: 'message',
    text: '',
    conversation: channelConversation(c, options.threadRootId ?? options.cardActivityId),
    channelData: { ...channelData(c), source: { name: 'message' }, legacy: { replyToId: options.cardActivityId } },
    replyToId: options.cardActivityId,
    value: options.data,
  };
}
