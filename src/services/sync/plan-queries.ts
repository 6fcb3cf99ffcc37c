import type { Knex } from 'knex';

/**
 * The preview's SQL, in the order the preview runs it on one transaction: a temporary staging table
 * (filled by the StagingWriter with the rows the LocalUserIndex passes on), then the whole plan in one
 * set-based statement that joins it with the matching users.
 */

export interface PlanCounts {
  newCount: number;
  updateCount: number;
  deactivateCount: number;
  unchangedCount: number;
  rejectedCount: number;
  /** Usable remote users after removing duplicates. */
  usableCount: number;
  localActiveCount: number;
}

/** The fields a sync compares and writes; an update item records only those that differ. */
const SYNCED_FIELDS = ['name', 'role', 'is_active', 'remote_id'] as const;

/** SQL that is true when the local user (`local.`) and the remote row (`remote.`) differ in any synced field. */
const anyFieldDiffers = (local: string, remote: string) =>
  SYNCED_FIELDS.map((field) => `${local}${field} IS DISTINCT FROM ${remote}${field}`).join('\n                    OR ');

/** SQL that appends to a jsonb object the differing fields, with their local (before) or remote (after) values. */
const differingFields = (side: 'before' | 'after') =>
  SYNCED_FIELDS.map(
    (field) =>
      `|| CASE WHEN p.user_${field} IS DISTINCT FROM p.${field} ` +
      `THEN jsonb_build_object('${field}', p.${side === 'before' ? 'user_' : ''}${field}) ELSE '{}' END`,
  ).join('\n                  ');

export async function createStaging(trx: Knex.Transaction): Promise<void> {
  await trx.raw(`
    CREATE TEMP TABLE sync_staging (
      -- The remote row; all NULL for a local user the remote list does not name.
      email text,
      name text,
      remote_id text,
      role text,
      is_active boolean,
      page integer,
      position integer,
      -- The local user with the row's email, as the preview's snapshot has it.
      user_id integer
    ) ON COMMIT DROP`);
}

/** What the local index learned while the pages arrived. */
export interface TriagedList {
  /** Usable remote users, staged or not. */
  remoteUserCount: number;
  possibleDuplicates: string[];
  /** The users named once and unchanged, ascending: they never reached the staging table. */
  unchangedUserIds: Int32Array;
  localActiveCount: number;
}

/**
 * Computes the plan from the staged rows and saves it as items, in one pass: each staged row and its
 * local user (by id) sorted into a kind by one CASE, and one INSERT of all the items. Items are inserted
 * in plan order (remote position, then user id), so each kind's items read back in that order by id.
 */
export async function planChanges(trx: Knex.Transaction, runId: number, list: TriagedList): Promise<PlanCounts> {
  // Only emails seen twice while triaging can be duplicates: count those copies, and skip the count
  // (a second scan of the staging table) when there are none.
  const stagedRows =
    list.possibleDuplicates.length === 0
      ? { sql: 'SELECT st.*, NULL::bigint AS copies FROM sync_staging st', bindings: [] }
      : {
          sql: `SELECT st.*, d.copies
                FROM sync_staging st
                LEFT JOIN (
                  SELECT email, count(*) AS copies FROM sync_staging
                  WHERE email = ANY(?::text[])
                  GROUP BY email HAVING count(*) > 1
                ) d ON d.email = st.email`,
          bindings: [list.possibleDuplicates],
        };
  const sql = `WITH plan AS MATERIALIZED (
         SELECT s.*, u.email AS user_email, u.name AS user_name, u.role AS user_role,
                u.is_active AS user_is_active, u.remote_id AS user_remote_id, u.updated_at AS user_updated_at,
                CASE
                  -- An email twice in the remote list cannot say which row is right: reject every copy, keep the local user.
                  WHEN s.copies > 1 THEN 'rejected'
                  -- Missing remotely → deactivate, unless a rejected row names the email: a broken row is not a departure.
                  WHEN s.email IS NULL THEN
                    CASE WHEN u.is_active AND lower(u.email) NOT IN (
                           SELECT r.email FROM sync_run_items r
                           WHERE r.sync_run_id = ?::int AND r.kind = 'rejected' AND r.email IS NOT NULL)
                         THEN 'deactivate' END
                  WHEN s.user_id IS NULL THEN 'new'
                  WHEN ${anyFieldDiffers('u.', 's.')} THEN 'update'
                END AS kind
         FROM (${stagedRows.sql}) s
         -- By primary key, row by row: a few thousand lookups, where a hash join would read every user of every location.
         LEFT JOIN LATERAL (SELECT * FROM users WHERE id = s.user_id) u ON true
     ),
     items AS (
       INSERT INTO sync_run_items (sync_run_id, kind, user_id, email, before, after, user_updated_at, reason, excerpt, remote_page)
       SELECT ?::int, p.kind,
              CASE WHEN p.kind IN ('update', 'deactivate') THEN p.user_id END,
              CASE WHEN p.kind IN ('update', 'deactivate') THEN p.user_email ELSE p.email END,
              CASE p.kind
                WHEN 'update' THEN
                  jsonb_build_object('email', p.user_email)
                  ${differingFields('before')}
                WHEN 'deactivate' THEN jsonb_build_object('email', p.user_email, 'name', p.user_name, 'is_active', true)
              END,
              CASE p.kind
                WHEN 'new' THEN
                  jsonb_build_object('email', p.email, 'name', p.name, 'role', p.role, 'is_active', p.is_active,
                                     'remote_id', p.remote_id)
                WHEN 'update' THEN
                  jsonb_build_object('email', p.user_email)
                  ${differingFields('after')}
                  || CASE WHEN p.is_active AND NOT p.user_is_active THEN '{"reactivated": true}'::jsonb ELSE '{}' END
                WHEN 'deactivate' THEN jsonb_build_object('email', p.user_email, 'is_active', false)
              END,
              CASE WHEN p.kind IN ('update', 'deactivate') THEN p.user_updated_at END,
              CASE WHEN p.kind = 'rejected' THEN 'email appears ' || p.copies || ' times in the remote list' END,
              CASE WHEN p.kind = 'rejected' THEN
                jsonb_build_object('id', p.remote_id, 'email', p.email, 'name', p.name, 'role', p.role, 'is_active', p.is_active)::text
              END,
              CASE WHEN p.kind <> 'deactivate' THEN p.page END
       FROM plan p
       WHERE p.kind IS NOT NULL
       ORDER BY p.position, p.user_id
       RETURNING kind
     ),
     -- A staged row the statement finds unchanged (the index compares COPY texts, which can differ for
     -- equal values) joins the unchanged users the index kept.
     also_unchanged AS (
       SELECT user_id FROM plan WHERE kind IS NULL AND email IS NOT NULL AND user_id IS NOT NULL
     ),
     -- The unchanged users are listed on the preview (folded away) from their ids, kept sorted.
     unchanged AS (
       UPDATE sync_runs
       SET unchanged_user_ids = CASE
             WHEN NOT EXISTS (SELECT 1 FROM also_unchanged) THEN ?::int[]
             ELSE (SELECT array_agg(id ORDER BY id)
                   FROM (SELECT unnest(?::int[]) AS id UNION ALL SELECT user_id FROM also_unchanged) ids)
           END
       WHERE id = ?::int
     )
     SELECT count(*) FILTER (WHERE kind = 'new')::int AS new,
            count(*) FILTER (WHERE kind = 'update')::int AS update,
            count(*) FILTER (WHERE kind = 'deactivate')::int AS deactivate,
            count(*) FILTER (WHERE kind = 'rejected')::int AS duplicates,
            -- The statement's snapshot predates its own INSERT: these are the rows rejected page by page.
            (SELECT count(*) FROM sync_run_items WHERE sync_run_id = ?::int AND kind = 'rejected')::int AS rejected_in_pages
     FROM items`;
  const unchangedIds = `{${list.unchangedUserIds.join(',')}}`;
  const result = await trx.raw(sql, [runId, ...stagedRows.bindings, runId, unchangedIds, unchangedIds, runId, runId]);
  const row = result.rows[0];
  const usableCount = list.remoteUserCount - row.duplicates;
  return {
    newCount: row.new,
    updateCount: row.update,
    deactivateCount: row.deactivate,
    unchangedCount: usableCount - row.new - row.update,
    rejectedCount: row.rejected_in_pages + row.duplicates,
    usableCount,
    localActiveCount: list.localActiveCount,
  };
}
