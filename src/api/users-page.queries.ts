import type { Knex } from '../platform/db/knex';

/** Where a page starts: after a user id (keyset, what the next links carry) or at a row offset (a page number). */
export type PageStart = { afterId: number } | { offset: number };

export interface LocationUsersPage {
  /** The page's users as the JSON array the contract shows, built by PostgreSQL: no object per row here. */
  dataJson: string;
  rows: number;
  lastId: number | null;
  total: number;
}

/**
 * One page of a location's users by id, as JSON text, with the location's user count: one statement.
 * The count comes from location_user_counts (kept by triggers), not count(*), which read every user of the
 * location for each page. A keyset start reads only the page's index entries; an offset walks the
 * (location_id, id) index up to it. The page's rows are then read by primary key, as an array: `id IN
 * (subquery)` was planned as a hash join over a sequential scan of every user.
 */
export async function pageOfLocationUsers(db: Knex, locationId: number, start: PageStart, perPage: number): Promise<LocationUsersPage> {
  const ids =
    'afterId' in start
      ? db.raw('SELECT id FROM users WHERE location_id = ?::int AND id > ?::int ORDER BY id LIMIT ?::int', [locationId, start.afterId, perPage])
      : db.raw('SELECT id FROM users WHERE location_id = ?::int ORDER BY id LIMIT ?::int OFFSET ?::int', [locationId, perPage, start.offset]);
  const result = await db.raw(
    `SELECT coalesce((SELECT users FROM location_user_counts WHERE location_id = ?::int), 0)::int AS total,
            p.rows, p.last_id, coalesce(p.data, '[]') AS data
     FROM (SELECT count(*)::int AS rows, max(u.id) AS last_id,
                  json_agg(json_build_object(
                    'id', u.id, 'name', u.name, 'email', u.email, 'role', u.role, 'is_active', u.is_active,
                    'updated_at', to_char(u.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
                  ) ORDER BY u.id)::text AS data
           FROM users u
           WHERE u.id = ANY(ARRAY(?))) p`,
    [locationId, ids],
  );
  const row = result.rows[0] as { total: number; rows: number; last_id: number | null; data: string };
  return { dataJson: row.data, rows: row.rows, lastId: row.last_id, total: row.total };
}
