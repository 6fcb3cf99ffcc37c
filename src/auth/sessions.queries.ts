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

/**
 * Expired sessions, for audit retention. connect-pg-simple prunes them too, but only in web instances and
 * in one statement; this runs from the daily job (also on a worker-only instance) a batch at a time.
 */
export function createExpiredSessionsQueries(db: Knex) {
  return {
    async count(): Promise<number> {
      const result = await db.raw('SELECT count(*)::int AS expired FROM session WHERE expire < now()');
      return result.rows[0].expired as number;
    },

    /** Deletes up to `limit` expired sessions; the count deleted. */
    async deleteBatch(limit: number): Promise<number> {
      const result = await db.raw('DELETE FROM session WHERE sid IN (SELECT sid FROM session WHERE expire < now() LIMIT ?::int)', [limit]);
      return result.rowCount ?? 0;
    },
  };
}

export type ExpiredSessionsQueries = ReturnType<typeof createExpiredSessionsQueries>;
