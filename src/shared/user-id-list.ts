/** A fixed list of Entra object ids (APPROVER_USER_IDS, READER_USER_IDS): who is on it, case- and space-insensitively. */
export interface UserIdList {
  configured: boolean;
  includes(actor: { aadObjectId?: string }): boolean;
}

export function userIdList(userIds: readonly string[]): UserIdList {
  const allowed = new Set(userIds.map((id) => id.trim().toLowerCase()).filter(Boolean));
  return {
    configured: allowed.size > 0,
    includes(actor) {
      const id = actor.aadObjectId?.trim().toLowerCase();
      return id !== undefined && id !== '' && allowed.has(id);
    },
  };
}
