import { createRequire } from 'node:module';

/**
 * Teams "tag mentions" (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/conversations/channel-and-group-conversations#tag-mention)
 * carry `mentioned.type: "tag"` beside the tag's id and name. botbuilder's connector serializes an
 * activity's entities with a fixed mapper whose `mentioned` is a ChannelAccount (id, name,
 * aadObjectId, role, properties), so it silently drops `type` and a tag would go out as a user
 * mention of an unknown id. This gives the entity's `mentioned` (and only it) its own property
 * list with `type`; every other ChannelAccount (from, recipient, members) is serialized as before.
 * Done once, at load; the connector's serializer reads the mapper objects at each call.
 */
interface CompositeMapper {
  type: { modelProperties?: Record<string, unknown>; className?: string };
}

const require = createRequire(import.meta.url);
const mappers = require('botframework-connector/lib/connectorApi/models/mappers') as Record<string, CompositeMapper | undefined>;

function withMentionType(entityMapper: CompositeMapper | undefined): void {
  const mentioned = entityMapper?.type.modelProperties?.mentioned as CompositeMapper | undefined;
  const account = mappers.ChannelAccount?.type.modelProperties;
  if (!mentioned || !account || mentioned.type.modelProperties) return;
  mentioned.type.modelProperties = { ...account, type: { serializedName: 'type', type: { name: 'String' } } };
}

withMentionType(mappers.Entity);
withMentionType(mappers.Mention);
