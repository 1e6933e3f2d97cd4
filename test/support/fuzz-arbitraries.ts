import fc from 'fast-check';
import { LAB_SECRET_HEADER } from '../../src/http/front-door.ts';
import { adaptiveCardAction, actionSubmit, channelMention, personalMessage, type TeamsUser } from '../../sim/teams/bot-activity.ts';

/**
 * Generators for fuzzing /api/messages: Teams-shaped activities and their mutations (wrong
 * types, missing fields, huge, nested and unicode values, hostile card data, random invoke
 * names), raw bodies, and headers (content types, encodings, tokens, lab secrets). Sizes stay
 * under the body cap on purpose (the cap has its own tests): the point is what gets past it.
 */

export interface FuzzRequest {
  headers: Record<string, string>;
  body: string | Uint8Array;
  /** What the generator made, for a failure message. */
  kind: string;
}

export interface FuzzContext {
  serviceUrl: string;
  labSecret?: string;
  /** Object ids the activities may claim (an approver's among them). */
  objectIds: string[];
}

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('', ' ', 'approve', 'deny x', 'resume', 'lookup jdoe', 'help', '<at>Incident Bot</at> approve IB-1', '/approve 1', '\u0000', '💥'.repeat(50)),
  fc.string({ maxLength: 3 }).map((s) => s.repeat(2000)),
);
const anyJson = fc.jsonValue({ maxDepth: 6 });
const hostileValue = fc.oneof(anyJson, text, fc.constantFrom(null, -1, 1e308, true, [], {}, '__proto__', { __proto__: { admin: true } }, { constructor: { prototype: { x: 1 } } }));

const verb = fc.oneof(fc.constantFrom('approve', 'deny', 'retry', 'resume', 'undo', 'refresh', 'Approve', ''), fc.string({ maxLength: 20 }));
const cardData = fc.dictionary(fc.oneof(fc.constantFrom('action', 'alertKey', 'approvalId', 'code', 'person', 'verb', 'reason', '__proto__'), fc.string({ maxLength: 12 })), hostileValue, { maxKeys: 8 });

function account(ctx: FuzzContext) {
  return fc.record(
    {
      id: fc.oneof(fc.constantFrom('29:1alice', '29:1mallory'), fc.string({ maxLength: 30 })),
      name: fc.oneof(text, fc.constant('Alice Example')),
      aadObjectId: fc.oneof(fc.constantFrom(...ctx.objectIds), fc.uuid(), fc.string({ maxLength: 40 })),
      role: fc.constantFrom('user', 'bot'),
    },
    { requiredKeys: [] },
  );
}

/** A Teams-shaped activity with every field optionally missing, wrong or hostile. */
export function activity(ctx: FuzzContext) {
  return fc.record(
    {
      type: fc.oneof(fc.constantFrom('message', 'invoke', 'event', 'conversationUpdate', 'messageReaction', 'typing', 'installationUpdate'), fc.string({ maxLength: 12 }), hostileValue),
      id: fc.oneof(fc.string({ maxLength: 30 }), fc.uuid(), hostileValue),
      name: fc.oneof(fc.constantFrom('adaptiveCard/action', 'task/fetch', 'composeExtension/query', 'signin/verifyState', 'healthCheck'), fc.string({ maxLength: 30 })),
      channelId: fc.oneof(fc.constantFrom('msteams', 'webchat', 'emulator', 'slack', ''), fc.string({ maxLength: 10 })),
      serviceUrl: fc.oneof(fc.constant(ctx.serviceUrl), fc.constant(ctx.serviceUrl), fc.constantFrom('https://attacker.example/', 'http://127.0.0.1:1/', 'not a url', ''), hostileValue),
      from: fc.oneof(account(ctx), hostileValue),
      recipient: fc.oneof(fc.record({ id: fc.constant('28:incident-bot-local'), name: fc.constant('Incident Bot') }), hostileValue),
      conversation: fc.oneof(
        fc.record({ id: fc.oneof(fc.constantFrom('a:1personal', '19:chan@thread.tacv2;messageid=1', '19:x@thread.v2'), fc.string({ maxLength: 30 })), conversationType: fc.constantFrom('personal', 'channel', 'groupChat', 'x'), tenantId: fc.oneof(fc.uuid(), fc.string()) }, { requiredKeys: [] }),
        hostileValue,
      ),
      text,
      textFormat: fc.constantFrom('plain', 'markdown', 'xml'),
      value: fc.oneof(
        fc.record({ action: fc.record({ type: fc.constantFrom('Action.Execute', 'Action.Submit', 'x'), verb, data: fc.oneof(cardData, hostileValue) }, { requiredKeys: [] }), trigger: fc.constantFrom('manual', 'automatic') }, { requiredKeys: [] }),
        cardData.map((d) => ({ ...d, verb: 'approve' })),
        hostileValue,
      ),
      replyToId: fc.oneof(fc.string({ maxLength: 20 }), hostileValue),
      channelData: fc.oneof(fc.record({ tenant: fc.record({ id: fc.oneof(fc.uuid(), fc.string()) }), team: fc.record({ id: fc.string({ maxLength: 20 }) }), channel: fc.record({ id: fc.string({ maxLength: 20 }) }) }, { requiredKeys: [] }), hostileValue),
      entities: fc.oneof(fc.array(fc.record({ type: fc.constantFrom('mention', 'clientInfo', 'x'), text: text, mentioned: fc.record({ id: fc.string({ maxLength: 30 }), name: text }, { requiredKeys: [] }) }, { requiredKeys: [] }), { maxLength: 100 }), hostileValue),
      locale: fc.string({ maxLength: 10 }),
    },
    { requiredKeys: [] },
  );
}

const MUTABLE_PATHS = ['type', 'id', 'name', 'text', 'from', 'from.id', 'from.aadObjectId', 'recipient', 'conversation', 'conversation.id', 'conversation.conversationType', 'channelData', 'channelData.tenant.id', 'value', 'value.action', 'value.action.verb', 'value.action.data', 'value.verb', 'entities', 'serviceUrl', 'replyToId'];

function mutate(target: Record<string, unknown>, path: string, value: unknown, remove: boolean): void {
  const keys = path.split('.');
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) return;
    node = next as Record<string, unknown>;
  }
  const last = keys.at(-1)!;
  if (remove) delete node[last];
  else node[last] = value;
}

/** A real Teams activity (message, mention, card click, Submit) with up to three fields broken. */
export function mutatedActivity(ctx: FuzzContext) {
  const user = fc.record({ id: fc.constantFrom('29:1alice', '29:1mallory'), name: fc.constantFrom('Alice Example', 'Mallory'), aadObjectId: fc.constantFrom(...ctx.objectIds) }) as fc.Arbitrary<TeamsUser>;
  const teams = { serviceUrl: ctx.serviceUrl, botAppId: 'incident-bot-local' };
  const base = fc.tuple(fc.integer({ min: 0, max: 3 }), user, verb, cardData, text).map(([kind, u, v, data, t]) => {
    if (kind === 0) return personalMessage(teams, { user: u, text: t });
    if (kind === 1) return channelMention(teams, { user: u, command: t });
    if (kind === 2) return adaptiveCardAction(teams, { user: u, verb: v, data, cardActivityId: '1' });
    return actionSubmit(teams, { user: u, data: { ...data, verb: v }, cardActivityId: '1' });
  });
  const mutation = fc.record({ path: fc.constantFrom(...MUTABLE_PATHS), value: hostileValue, remove: fc.boolean() });
  return fc.tuple(base, fc.array(mutation, { maxLength: 3 })).map(([activity, mutations]) => {
    const copy = structuredClone(activity) as Record<string, unknown>;
    // Values are cloned: fc.constantFrom hands out the same object every time, and a later
    // mutation must not reach into it (a shared constant mutated once is a cycle the next time).
    for (const m of mutations) mutate(copy, m.path, structuredClone(m.value), m.remove);
    return copy;
  });
}

/** Headers: mostly what a real caller sends, sometimes anything. */
function headers(ctx: FuzzContext, auth: 'bearer' | 'lab') {
  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/json; charset=utf-16', 'APPLICATION/JSON', '') },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z/+;= -]{0,40}$/) },
  );
  const encoding = fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-whatever') });
  const token = fc.oneof(
    fc.constant(undefined),
    fc.stringMatching(/^[A-Za-z0-9._ -]{0,80}$/).map((t) => `Bearer ${t}`),
    fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map(([a, b, c]) => `Bearer ${a.replace(/[+/=]/g, '')}.${b.replace(/[+/=]/g, '')}.${c.replace(/[+/=]/g, '')}`),
    fc.stringMatching(/^[ -~]{0,60}$/),
  );
  const secret =
    auth === 'lab'
      ? fc.oneof({ weight: 6, arbitrary: fc.constant(ctx.labSecret) }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/) })
      : fc.constant(undefined);
  return fc.record({ contentType, encoding, token, secret }).map(({ contentType: type, encoding: enc, token: tok, secret: sec }) => {
    const h: Record<string, string> = {};
    if (type) h['content-type'] = type;
    if (enc) h['content-encoding'] = enc;
    if (tok !== undefined) h.authorization = tok;
    if (sec !== undefined) h[LAB_SECRET_HEADER] = sec;
    return h;
  });
}

/** A request: a (mutated) activity as JSON, or a raw body, with fuzzed headers. */
export function fuzzRequest(ctx: FuzzContext, auth: 'bearer' | 'lab'): fc.Arbitrary<FuzzRequest> {
  const body = fc.oneof(
    { weight: 5, arbitrary: mutatedActivity(ctx).map((a) => ({ kind: 'mutated activity', body: JSON.stringify(a) })) },
    { weight: 4, arbitrary: activity(ctx).map((a) => ({ kind: 'activity', body: JSON.stringify(a) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((b) => ({ kind: 'bytes', body: b as Uint8Array | string })) },
    { weight: 1, arbitrary: fc.oneof(text, anyJson.map((j) => JSON.stringify(j)), fc.constantFrom('{', '[]', 'null', '"x"', '{"type":', `${'['.repeat(200)}${']'.repeat(200)}`)).map((t) => ({ kind: 'text', body: t as Uint8Array | string })) },
  );
  return fc.record({ headers: headers(ctx, auth), body }).map(({ headers: h, body: b }) => ({ headers: h, body: b.body, kind: b.kind }));
}
