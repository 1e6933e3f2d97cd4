import { TeamsInfo, type TurnContext } from 'botbuilder';
import { setBounded } from '../shared/bounded-map.ts';

/**
 * Before a vote counts: do the activity's `from.id` (the Teams user id, which Teams sets) and
 * `from.aadObjectId` (what approvers are checked by) belong to one and the same member of the
 * conversation? Asked of the connector with TeamsInfo.getMember, i.e.
 * GET {serviceUrl}/v3/conversations/{conversationId or teamId}/members/{userId}
 * (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/get-teams-context, "Get single
 * member details": the user id may be the Teams user id or the Entra object id; and
 * https://learn.microsoft.com/en-in/dotnet/api/microsoft.bot.builder.teams.teamsinfo.getmemberasync:
 * "Gets the account of a single conversation member", one-on-one, group and team conversations),
 * and cached briefly per conversation so a busy approval round asks once per person.
 * Fails closed: when the connector cannot say, the vote is not counted.
 */
export type MemberVerdict = 'same' | 'mismatch' | 'unknown';

export interface MemberCheck {
  confirm(context: TurnContext): Promise<MemberVerdict>;
}

/** The conversation member's object id for a Teams user id; undefined when there is no such member. */
export type MemberLookup = (context: TurnContext, teamsUserId: string) => Promise<string | undefined>;

export interface MemberCheckOptions {
  lookup?: MemberLookup;
  ttlMs?: number;
  maxEntries?: number;
  timeoutMs?: number;
  now?: () => number;
}

export const MEMBER_CACHE_TTL_MS = 5 * 60_000;

function statusOf(error: unknown): number | undefined {
  const e = error as { statusCode?: unknown; response?: { status?: unknown } } | undefined;
  const status = e?.statusCode ?? e?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

/** TeamsInfo.getMember: a 404 means "no such member here"; anything else is "cannot tell". */
export const teamsMemberLookup: MemberLookup = async (context, teamsUserId) => {
  try {
    const member = await TeamsInfo.getMember(context, teamsUserId);
    return member.aadObjectId?.trim().toLowerCase() || undefined;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
};

function scopeOf(context: TurnContext): string {
  const activity = context.activity;
  const team = (activity.channelData as { team?: { id?: unknown } } | undefined)?.team?.id;
  return `${activity.serviceUrl ?? ''}\u0000${typeof team === 'string' ? team : (activity.conversation?.id ?? '')}`;
}

export function createMemberCheck(options: MemberCheckOptions = {}): MemberCheck {
  const lookup = options.lookup ?? teamsMemberLookup;
  const ttlMs = options.ttlMs ?? MEMBER_CACHE_TTL_MS;
  const maxEntries = options.maxEntries ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; aadObjectId: string | undefined }>();

  const lookupBounded = async (context: TurnContext, userId: string): Promise<string | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('member lookup timed out')), timeoutMs);
    });
    try {
      return await Promise.race([lookup(context, userId), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    async confirm(context) {
      const from = context.activity.from;
      const claimed = from?.aadObjectId?.trim().toLowerCase();
      if (!from?.id || !claimed) return 'mismatch';
      const key = `${scopeOf(context)}\u0000${from.id}`;
      let entry = cache.get(key);
      if (!entry || now() - entry.at > ttlMs) {
        let aadObjectId: string | undefined;
        try {
          aadObjectId = await lookupBounded(context, from.id);
        } catch {
          return 'unknown';
        }
        entry = { at: now(), aadObjectId };
        setBounded(cache, key, entry, maxEntries);
      }
      return entry.aadObjectId === claimed ? 'same' : 'mismatch';
    },
  };
}
