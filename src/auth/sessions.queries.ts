import type { Knex } from 'knex';

/**
 * Ends every session of these users, on the caller's connection or transaction. The session row holds
 * the signed-in user's id as `sess.userId` (set at sign-in), a format only this feature writes.
 */
export async function revokeSessions(db: Knex, userIds: readonly number[]): Promise<number> {
  if (userIds.length === 0) return 0;
  // One array parameter, whatever the count (knex would expand a JS array into one parameter per id).
  const result = await db.raw(`DELETE FROM session WHERE sess->>'userId' = ANY(?::text[])`, [`{${userIds.join(',')}}`]);
  return result.rowCount ?? 0;
}

export type RevokeSessions = typeof revokeSessions;
