/**
 * The shape botbuilder assumes of an inbound activity, checked before it gets one: botbuilder
 * (TurnContext.getMentions, getConversationReference, the connector client) dereferences
 * `from`, `recipient`, `conversation` and each entity without checking, so a hand-made activity
 * whose `from` is a string or whose mention has no `mentioned` made the turn throw (found by the
 * fuzz suite). Field names as in the Bot Framework Activity schema
 * (https://github.com/microsoft/botframework-sdk/blob/main/specs/botframework-activity/botframework-activity.md).
 * Returns what is wrong in a few words, or undefined when the activity may be processed.
 */
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isAccount = (value: unknown): boolean => isObject(value) && typeof value.id === 'string' && value.id !== '' && ['name', 'aadObjectId', 'role'].every((k) => value[k] === undefined || value[k] === null || typeof value[k] === 'string');
const optionalString = (value: unknown): boolean => value === undefined || value === null || typeof value === 'string';

export function activityShapeProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'The request body must be a JSON activity.';
  if (typeof body.type !== 'string' || body.type === '') return 'The activity has no type.';
  // Only what the bot acts on needs the whole shape; other types are acknowledged and ignored.
  if (body.type !== 'message' && body.type !== 'invoke') return undefined;
  if (typeof body.id !== 'string' || body.id === '') return 'The activity has no id.';
  if (typeof body.serviceUrl !== 'string' || body.serviceUrl === '') return 'The activity has no serviceUrl.';
  if (typeof body.channelId !== 'string') return 'The activity has no channelId.';
  if (!isAccount(body.from)) return 'The activity has no valid from.';
  if (!isAccount(body.recipient)) return 'The activity has no valid recipient.';
  if (!isObject(body.conversation) || typeof body.conversation.id !== 'string' || body.conversation.id === '') return 'The activity has no valid conversation.';
  for (const key of ['conversationType', 'tenantId'] as const) if (!optionalString(body.conversation[key])) return `conversation.${key} must be a string.`;
  for (const key of ['text', 'name', 'replyToId', 'locale', 'textFormat'] as const) if (!optionalString(body[key])) return `${key} must be a string.`;
  if (body.channelData !== undefined && body.channelData !== null && !isObject(body.channelData)) return 'channelData must be an object.';
  if (body.entities !== undefined && body.entities !== null) {
    if (!Array.isArray(body.entities)) return 'entities must be a list.';
    for (const entity of body.entities) {
      if (!isObject(entity) || typeof entity.type !== 'string') return 'Each entity needs a type.';
      if (entity.type.toLowerCase() === 'mention' && (!isAccount(entity.mentioned) || !optionalString(entity.text))) return 'A mention needs a mentioned account.';
    }
  }
  return undefined;
}
