import type { Knex } from '../platform/db/knex';

/**
 * Where a page starts: after a user id (keyset, what the next links carry), or at a row offset (a page
 * number), which `seek` may shorten.
 */
export type PageStart = { afterId: number } | { offset: number; seek?: PageSeek };

/**
 * The end of a page served before, as a shortcut to a later page: while the location's users are still
 * those of `generation`, the page starts `skip` rows after the user `afterId`. Otherwise the offset counts.
 */
export interface PageSeek {
  generation: string;
  afterId: number;
  skip: number;
}

export interface LocationUsersPage {
  /** The page's users as the JSON array the contract shows, built by PostgreSQL: no object per row here. */
  dataJson: string;
  rows: number;
  lastId: number | null;
  total: number;
  /** Which set of the location's users the page was read from (location_user_counts.generation); null: none yet. */
  generation: string | null;
}

// One user as the contract's JSON object, written as text: json_build_object cost three times as much.
// to_json quotes and escapes the strings; the id and the flag are plain tokens.
const USER_JSON = `'{"id":' || u.id || ',"name":' || to_json(u.name) || ',"email":' || to_json(u.email)
  || ',"role":' || coalesce(to_json(u.role)::text, 'null') || ',"is_active":' || u.is_active
  || ',"updated_at":"' || to_char(u.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"}'`;

/**
 * One page of a location's users by id, as JSON text, with the location's user count: one statement.
 * The count comes from location_user_counts (kept by triggers), not count(*), which read every user of the
 * location for each page. A keyset start, or a seek whose generation still holds, reads only the page's
 * index entries; a bare offset walks the (location_id, id) index up to it. The page's rows are then read by
 * primary key, as an array: `id IN (subquery)` was planned as a hash join over a sequential scan of every user.
 */
export async function pageOfLocationUsers(db: Knex, locationId: number, start: PageStart, perPage: number): Promise<LocationUsersPage> {
  const seek = 'offset' in start ? start.seek : undefined;
  const fallback = 'afterId' in start ? { afterId: start.afterId, offset: 0 } : { afterId: 0, offset: start.offset };
  const result = await db.raw(
    `WITH counted AS (SELECT users, generation FROM location_user_counts WHERE location_id = :locationId::int),
          seeking AS (SELECT coalesce((SELECT generation FROM counted) = :seekGeneration::bigint, false) AS usable)
     SELECT coalesce((SELECT users FROM counted), 0)::int AS total, (SELECT generation FROM counted)::text AS generation,
            p.rows, p.last_id, coalesce(p.data, '[]') AS data
     FROM (SELECT count(*)::int AS rows, max(u.id) AS last_id, '[' || string_agg(${USER_JSON}, ',' ORDER BY u.id) || ']' AS data
           FROM users u
           WHERE u.id = ANY(ARRAY(
             SELECT id FROM users
             WHERE location_id = :locationId::int
               AND id > CASE WHEN (SELECT usable FROM seeking) THEN :seekAfterId::int ELSE :afterId::int END
             ORDER BY id
             LIMIT :perPage::int
             OFFSET CASE WHEN (SELECT usable FROM seeking) THEN :seekSkip::int ELSE :offset::int END))) p`,
    {
      locationId,
      perPage,
      seekGeneration: seek?.generation ?? null,
      seekAfterId: seek?.afterId ?? 0,
      seekSkip: seek?.skip ?? 0,
      afterId: fallback.afterId,
      offset: fallback.offset,
    },
  );
  const row = result.rows[0] as { total: number; generation: string | null; rows: number; last_id: number | null; data: string };
  return { dataJson: row.data, rows: row.rows, lastId: row.last_id, total: row.total, generation: row.generation };
}
