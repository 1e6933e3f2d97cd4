import { startHttpsJsonServer, type JsonHandler, type JsonReply, type JsonRequest, type RunningServer } from '../https-json-server.ts';

/**
 * Local stand-in for the Bot Framework connector as Teams runs it: the `serviceUrl` a bot posts to.
 *   POST   /v3/conversations                                   create a thread in a channel (or a 1:1 chat)
 *   POST   /v3/conversations/{id}/activities[/{replyToId}]     send / reply
 *   POST   /v3/conversations/{id}/activities?isTargetedActivity=true
 *          a targeted message (seen by `recipient` alone), in a channel or group chat only; targeted
 *          messages "don't support reactions, replies, or forwarding", so the reply endpoint with
 *          the flag is 404 (https://learn.microsoft.com/microsoftteams/platform/agents-in-teams/targeted-messages,
 *          "Send replies using REST APIs")
 *   PUT    /v3/conversations/{id}/activities/{activityId}      update
 *   DELETE /v3/conversations/{id}/activities/{activityId}      delete
 *   GET    /v3/conversations/{id}/members/{userId}, GET /v3/teams/{teamId}[/conversations]
 * Every accepted call is recorded in order (`sent`); faults and Teams' rate limits can be imposed
 * so pacing and retry code is exercised against the status codes Teams really sends.
 */
export type ConnectorCallKind = 'create' | 'send' | 'reply' | 'update' | 'delete';

export interface SentRecord {
  seq: number;
  kind: ConnectorCallKind;
  /** As addressed: for a new thread, the returned `<channel>;messageid=<root>`. */
  conversationId: string;
  /** The new activity's id (create/send/reply) or the addressed one (update/delete). */
  activityId: string;
  /** The id in the URL of a reply (POST .../activities/{replyToId}). */
  replyToId?: string;
  /** The channel a `create` was posted into (channelData.channel.id). */
  channelId?: string;
  activity: Record<string, unknown> | undefined;
  /** `?isTargetedActivity=true` was on the URL (message visible to one recipient only). */
  targeted: boolean;
  at: Date;
}

export interface RejectedRecord {
  kind: ConnectorCallKind;
  conversationId: string;
  status: number;
  reason: 'fault' | 'rate-limit';
  at: Date;
}

export interface ConnectorFault {
  status: number;
  retryAfterSeconds?: number;
  /** Fail this exact share of matching requests, deterministically spread (0.2 = every 5th). */
  share?: number;
  /** Fail the next `times` matching requests (when no share is given; default 1). */
  times?: number;
  /** Only these kinds of call (default: every write). */
  kinds?: ConnectorCallKind[];
  /** Only targeted calls (true) or only untargeted ones (false); default both. */
  targeted?: boolean;
}

export interface RateWindow {
  limit: number;
  windowMs: number;
}

export interface ConnectorRateLimits {
  /**
   * Per bot per conversation: a channel with all its threads (`19:…;messageid=…` counts on `19:…`),
   * a group chat, a 1:1 chat. "A conversation is 1:1 between bot and user, a group chat, or a
   * channel in a team": https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit
   */
  perConversation: RateWindow[];
  /** Per bot across all conversations. */
  global: RateWindow[];
  retryAfterSeconds?: number;
}

/** Teams' documented limits for a bot: per conversation 7/1s, 8/2s, 60/30s, 1800/1h; global 50 RPS per app and tenant. */
export const TEAMS_RATE_LIMITS: ConnectorRateLimits = {
  perConversation: [
    { limit: 7, windowMs: 1000 },
    { limit: 8, windowMs: 2000 },
    { limit: 60, windowMs: 30_000 },
    { limit: 1800, windowMs: 3_600_000 },
  ],
  global: [{ limit: 50, windowMs: 1000 }],
};

export interface ConnectorMember {
  id: string;
  name: string;
  aadObjectId: string;
  email?: string;
  userPrincipalName?: string;
  tenantId?: string;
  userRole?: 'user' | 'guest' | 'anonymous';
}

export interface ConnectorTeam {
  id: string;
  name: string;
  aadGroupId?: string;
  channels: { id: string; name?: string }[];
}

export interface BotConnectorServerOptions {
  /** https (default, test CA) or plain http (botbuilder with auth off accepts http serviceUrls). */
  protocol?: 'https' | 'http';
  port?: number;
  /** When given, calls are answered 401 unless this accepts the Authorization header. */
  verifyToken?: (authorizationHeader: string | undefined) => boolean;
  rateLimits?: ConnectorRateLimits;
  /** Refuse update/delete of an activity this server never issued (404), as Teams does. Default true. */
  strictActivityIds?: boolean;
  members?: ConnectorMember[];
  teams?: ConnectorTeam[];
}

export interface BotConnectorServer extends RunningServer {
  /** The serviceUrl to put on activities: `${url}/`, as Teams sends it. */
  serviceUrl: string;
  sent: SentRecord[];
  rejected: RejectedRecord[];
  /** Mutable: push faults while a test runs. */
  faults: ConnectorFault[];
  rateLimits: ConnectorRateLimits | undefined;
  members: ConnectorMember[];
  teams: ConnectorTeam[];
  /** Posts carrying an Adaptive Card (create/send/reply), optionally only in one conversation or its threads. */
  cardsPosted(conversationId?: string): SentRecord[];
  updatesFor(activityId: string): SentRecord[];
  /** Messages posted into the thread whose root activity id is given. */
  repliesIn(rootActivityId: string): SentRecord[];
  /** The latest content of an activity (after updates), undefined if unknown or deleted. */
  currentActivity(activityId: string): Record<string, unknown> | undefined;
  reset(): void;
}

const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

export async function startBotConnectorServer(options: BotConnectorServerOptions = {}): Promise<BotConnectorServer> {
  const sent: SentRecord[] = [];
  const rejected: RejectedRecord[] = [];
  const faults: ConnectorFault[] = [];
  const faultCounters = new WeakMap<ConnectorFault, { seen: number; fired: number }>();
  const acceptedAt: { conversation: string; at: number }[] = [];
  const activities = new Map<string, { conversation: string; activity: Record<string, unknown> | undefined; deleted: boolean }>();
  let lastId = Date.now();
  let seq = 0;
  const state = { rateLimits: options.rateLimits, members: options.members ?? [], teams: options.teams ?? [] };
  const strict = options.strictActivityIds ?? true;

  // Teams message ids are epoch milliseconds; keep them unique and increasing.
  const newId = () => String((lastId = Math.max(lastId + 1, Date.now())));
  const base = (conversationId: string) => conversationId.split(';')[0]!;

  function pickFault(kind: ConnectorCallKind, targeted: boolean): ConnectorFault | undefined {
    for (const fault of faults) {
      if (fault.kinds && !fault.kinds.includes(kind)) continue;
      if (fault.targeted !== undefined && fault.targeted !== targeted) continue;
      const counter = faultCounters.get(fault) ?? { seen: 0, fired: 0 };
      faultCounters.set(fault, counter);
      counter.seen++;
      // Bresenham-style: the k-th request fails when floor(k*share) steps up, e.g. 5, 10, 15 for 0.2.
      const fire = fault.share !== undefined ? Math.floor(counter.seen * fault.share) > Math.floor((counter.seen - 1) * fault.share) : counter.fired < (fault.times ?? 1);
      if (fire) {
        counter.fired++;
        return fault;
      }
    }
    return undefined;
  }

  function overLimit(conversation: string, now: number): boolean {
    const limits = state.rateLimits;
    if (!limits) return false;
    const exceeds = (windows: RateWindow[], match: (e: { conversation: string }) => boolean) =>
      windows.some((w) => acceptedAt.filter((e) => e.at > now - w.windowMs && match(e)).length >= w.limit);
    return exceeds(limits.perConversation, (e) => e.conversation === conversation) || exceeds(limits.global, () => true);
  }

  /** Faults first, then Teams' limits, counted on the conversation the call addresses (a thread counts on its channel). */
  function gate(kind: ConnectorCallKind, conversationId: string, targeted = false): JsonReply | undefined {
    const conversation = base(conversationId);
    const now = Date.now();
    const fault = pickFault(kind, targeted);
    if (fault) {
      rejected.push({ kind, conversationId, status: fault.status, reason: 'fault', at: new Date(now) });
      return connectorError(fault.status, fault.retryAfterSeconds);
    }
    if (overLimit(conversation, now)) {
      rejected.push({ kind, conversationId, status: 429, reason: 'rate-limit', at: new Date(now) });
      return connectorError(429, state.rateLimits?.retryAfterSeconds ?? 1);
    }
    acceptedAt.push({ conversation, at: now });
    // Keep the log bounded by the longest window.
    const longest = Math.max(0, ...[...(state.rateLimits?.perConversation ?? []), ...(state.rateLimits?.global ?? [])].map((w) => w.windowMs));
    while (acceptedAt.length && acceptedAt[0]!.at <= now - longest) acceptedAt.shift();
    return undefined;
  }

  function record(entry: Omit<SentRecord, 'seq' | 'at'>): void {
    sent.push({ seq: ++seq, at: new Date(), ...entry });
  }

  const handler: JsonHandler = (req: JsonRequest): JsonReply => {
    if (options.verifyToken && !options.verifyToken(headerOf(req, 'authorization'))) {
      return { status: 401, body: { message: 'Authorization has been denied for this request.' } };
    }
    const segments = req.path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    const targeted = req.query.get('isTargetedActivity') === 'true';
    const body = isRecord(req.body) ? req.body : undefined;
    const [v3, collection, id, sub, subId, extra] = segments;
    if (v3 !== 'v3') return notFound();

    if (collection === 'teams' && id && req.method === 'GET') {
      const team = state.teams.find((t) => t.id === id);
      if (!team) return { status: 404, body: { error: { code: 'TeamNotFound', message: `Team ${id} not found` } } };
      if (sub === 'conversations' && !subId) return { status: 200, body: { conversations: team.channels.map((c) => ({ id: c.id, name: c.name ?? null })) } };
      if (!sub) return { status: 200, body: { id: team.id, name: team.name, aadGroupId: team.aadGroupId ?? null } };
      return notFound();
    }
    if (collection !== 'conversations') return notFound();

    if (!id && req.method === 'POST') return createConversation(body, targeted);
    if (!id) return notFound();

    // Get single member details (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/get-teams-context):
    // the member id may be the Teams user id (29:…) or the Entra object id; an unknown one is 404.
    if (sub === 'members' && subId && !extra && req.method === 'GET') {
      const member = state.members.find((m) => m.id === subId || m.aadObjectId === subId);
      if (!member) return { status: 404, body: { error: { code: 'MemberNotFoundInConversation', message: 'The member was not found in the conversation.' } } };
      return { status: 200, body: member };
    }
    if (sub !== 'activities' || extra) return notFound();

    if (req.method === 'POST') {
      if (targeted && subId) return { status: 404, body: { error: { code: 'NotFound', message: 'Targeted messages do not support replies: POST /v3/conversations/{conversationId}/activities?isTargetedActivity=true.' } } };
      if (!body) return badRequest('The activity body is missing or is not JSON.');
      if (targeted) {
        const problem = targetedProblem(id, body);
        if (problem) return badRequest(problem);
      }
      const kind: ConnectorCallKind = subId ? 'reply' : 'send';
      const refused = gate(kind, id, targeted);
      if (refused) return refused;
      const activityId = newId();
      activities.set(activityId, { conversation: base(id), activity: body, deleted: false });
      record({ kind, conversationId: id, activityId, ...(subId ? { replyToId: subId } : {}), activity: body, targeted });
      return { status: 201, body: { id: activityId } };
    }
    if ((req.method === 'PUT' || req.method === 'DELETE') && subId) {
      const kind: ConnectorCallKind = req.method === 'PUT' ? 'update' : 'delete';
      if (kind === 'update' && !body) return badRequest('The activity body is missing or is not JSON.');
      const known = activities.get(subId);
      if (strict && (!known || known.deleted || known.conversation !== base(id))) {
        return { status: 404, body: { error: { code: 'ActivityNotFoundInConversation', message: `Activity ${subId} was not found in conversation ${id}.` } } };
      }
      const refused = gate(kind, id);
      if (refused) return refused;
      if (known) {
        if (kind === 'update') known.activity = body;
        else known.deleted = true;
      }
      record({ kind, conversationId: id, activityId: subId, activity: body, targeted });
      return kind === 'update' ? { status: 200, body: { id: subId } } : { status: 200 };
    }
    return { status: 405, body: { error: { code: 'MethodNotAllowed', message: `${req.method} is not allowed on ${req.path}` } } };
  };

  function createConversation(body: Record<string, unknown> | undefined, targeted: boolean): JsonReply {
    if (!body) return badRequest('The conversation parameters are missing or are not JSON.');
    const channelData = isRecord(body.channelData) ? body.channelData : {};
    const channel = isRecord(channelData.channel) ? channelData.channel : undefined;
    const channelId = typeof channel?.id === 'string' ? channel.id : undefined;
    const activity = isRecord(body.activity) ? body.activity : undefined;
    const members = Array.isArray(body.members) ? body.members.filter(isRecord) : [];
    if (channelId) {
      // A new thread in a channel: Teams needs the root message with it.
      if (!activity) return badRequest('Creating a conversation in a channel requires an activity.');
      const refused = gate('create', channelId);
      if (refused) return refused;
      const activityId = newId();
      const conversationId = `${channelId};messageid=${activityId}`;
      activities.set(activityId, { conversation: channelId, activity, deleted: false });
      record({ kind: 'create', conversationId, activityId, channelId, activity, targeted });
      return { status: 201, body: { id: conversationId, activityId } };
    }
    const user = members.length === 1 && typeof members[0]!.id === 'string' ? members[0]!.id : undefined;
    if (!user || body.isGroup === true) return badRequest('Only channel threads (channelData.channel.id) and 1:1 chats (one member) can be created.');
    // A 1:1 chat id is stable per user, as in Teams.
    const conversationId = `a:1${Buffer.from(user).toString('base64url')}`;
    const refused = gate('create', conversationId);
    if (refused) return refused;
    const activityId = activity ? newId() : '';
    if (activity) activities.set(activityId, { conversation: conversationId, activity, deleted: false });
    record({ kind: 'create', conversationId, activityId, activity, targeted });
    return { status: 201, body: activity ? { id: conversationId, activityId } : { id: conversationId } };
  }

  const server = await startHttpsJsonServer(handler, { port: options.port, protocol: options.protocol });

  const isCard = (r: SentRecord) => Array.isArray(r.activity?.attachments) && (r.activity.attachments as unknown[]).some((a) => isRecord(a) && a.contentType === ADAPTIVE_CARD);
  return {
    ...server,
    serviceUrl: `${server.url}/`,
    sent,
    rejected,
    faults,
    get rateLimits() {
      return state.rateLimits;
    },
    set rateLimits(value) {
      state.rateLimits = value;
    },
    members: state.members,
    teams: state.teams,
    cardsPosted: (conversationId) =>
      sent.filter((r) => (r.kind === 'create' || r.kind === 'send' || r.kind === 'reply') && isCard(r) && (conversationId === undefined || base(r.conversationId) === base(conversationId) || r.channelId === conversationId)),
    updatesFor: (activityId) => sent.filter((r) => r.kind === 'update' && r.activityId === activityId),
    repliesIn: (root) => sent.filter((r) => (r.kind === 'send' || r.kind === 'reply') && (r.conversationId.endsWith(`;messageid=${root}`) || r.replyToId === root)),
    currentActivity: (activityId) => {
      const known = activities.get(activityId);
      return known && !known.deleted ? known.activity : undefined;
    },
    reset() {
      // The request log too: a test that resets between batches (the fuzz memory test) must not
      // have the stand-in keep every request it ever received in the process it measures.
      server.requests.length = 0;
      sent.length = 0;
      rejected.length = 0;
      faults.length = 0;
      acceptedAt.length = 0;
      activities.clear();
    },
  };
}

function connectorError(status: number, retryAfterSeconds?: number): JsonReply {
  const codes: Record<number, string> = { 412: 'PreconditionFailed', 429: 'TooManyRequests', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout' };
  return {
    status,
    headers: retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {},
    body: { error: { code: codes[status] ?? 'ServiceError', message: `Injected or rate-limited response ${status}` } },
  };
}

/** Why Teams would refuse this targeted message, or undefined: one recipient, and not in a 1:1 chat. */
function targetedProblem(conversationId: string, activity: Record<string, unknown>): string | undefined {
  const recipient = isRecord(activity.recipient) ? activity.recipient : undefined;
  if (typeof recipient?.id !== 'string' || recipient.id === '') return 'A targeted message needs the one recipient who may see it (recipient.id).';
  // Personal chat ids start with "a:"; targeted messaging "isn't available in one-on-one chats".
  if (conversationId.startsWith('a:')) return 'Targeted messages are not available in one-on-one chats.';
  return undefined;
}

function badRequest(message: string): JsonReply {
  return { status: 400, body: { error: { code: 'BadSyntax', message } } };
}

function notFound(): JsonReply {
  return { status: 404, body: { error: { code: 'NotFound', message: 'The requested resource does not exist on the connector stand-in.' } } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function headerOf(req: JsonRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
