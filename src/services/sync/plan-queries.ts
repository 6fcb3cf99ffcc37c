import type { Knex } from 'knex';

/**
 * The preview's SQL, in the order the preview runs it on one transaction: a temporary staging table
 * (filled by the StagingWriter), then the whole plan in one set-based statement that joins it with the
 * location's users. Nothing here reads users into memory.
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
      email text NOT NULL,
      name text NOT NULL,
      remote_id text,
      role text,
      is_active boolean NOT NULL,
      page integer NOT NULL,
      position integer NOT NULL
    ) ON COMMIT DROP`);
}

/**
 * Computes the plan from the staged list and saves it as items, in one pass: the staged rows and the
 * location's users joined on the email, each pair sorted into a kind by one CASE, and one INSERT of all
 * the items. Unchanged users are counted, and their ids kept on the run. Items are inserted in plan order (remote position, then
 * user id), so each kind's items read back in that order by id.
 */
export async function planChanges(
  trx: Knex.Transaction,
  runId: number,
  locationId: number,
  staged: { count: number; possibleDuplicates: string[] },
): Promise<PlanCounts> {
  // No ANALYZE of the staging table: a full join on the email can only be a hash or merge join, and the
  // planner sizes the never-analysed table from its pages. The hash of the location's users spills to
  // disk at the default work_mem.
  await trx.raw("SET LOCAL work_mem = '64MB'");
  // Only emails whose hash was staged twice can be duplicates: count those copies, and skip the count
  // (a second scan of the staging table) when there are none.
  const stagedRows =
    staged.possibleDuplicates.length === 0
      ? { sql: 'SELECT st.*, NULL::bigint AS copies FROM sync_staging st', bindings: [] }
      : {
          sql: `SELECT st.*, d.copies
                FROM sync_staging st
                LEFT JOIN (
                  SELECT email, count(*) AS copies FROM sync_staging
                  WHERE email = ANY(?::text[])
                  GROUP BY email HAVING count(*) > 1
                ) d ON d.email = st.email`,
          bindings: [staged.possibleDuplicates],
        };
  const sql = `WITH plan AS MATERIALIZED (
         SELECT s.*, u.id AS user_id, u.email AS user_email, u.name AS user_name, u.role AS user_role,
                u.is_active AS user_is_active, u.remote_id AS user_remote_id, u.updated_at AS user_updated_at,
                CASE
                  -- An email twice in the remote list cannot say which row is right: reject every copy, keep the local user.
                  WHEN s.copies > 1 THEN 'rejected'
                  WHEN u.id IS NULL THEN 'new'
                  -- Missing remotely → deactivate, unless a rejected row names the email: a broken row is not a departure.
                  WHEN s.email IS NULL THEN
                    CASE WHEN u.is_active AND u.key NOT IN (
                           SELECT r.email FROM sync_run_items r
                           WHERE r.sync_run_id = ?::int AND r.kind = 'rejected' AND r.email IS NOT NULL)
                         THEN 'deactivate' END
                  WHEN ${anyFieldDiffers('u.', 's.')} THEN 'update'
                END AS kind
         FROM (${stagedRows.sql}) s
         FULL JOIN (
           SELECT id, email, name, role, is_active, remote_id, updated_at, lower(email) AS key
           FROM users WHERE location_id = ?::int
         ) u ON u.key = s.email
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
     -- The unchanged users are listed on the preview (folded away) from their ids, kept sorted.
     unchanged AS (
       UPDATE sync_runs
       SET unchanged_user_ids = (
         SELECT coalesce(array_agg(user_id ORDER BY user_id), '{}') FROM plan
         WHERE kind IS NULL AND email IS NOT NULL AND user_id IS NOT NULL)
       WHERE id = ?::int
     )
     SELECT count(*) FILTER (WHERE kind = 'new')::int AS new,
            count(*) FILTER (WHERE kind = 'update')::int AS update,
            count(*) FILTER (WHERE kind = 'deactivate')::int AS deactivate,
            count(*) FILTER (WHERE kind = 'rejected')::int AS duplicates,
            -- The statement's snapshot predates its own INSERT: these are the rows rejected page by page.
            (SELECT count(*) FROM sync_run_items WHERE sync_run_id = ?::int AND kind = 'rejected')::int AS rejected_in_pages,
            (SELECT count(*) FROM users WHERE location_id = ?::int AND is_active)::int AS local_active
     FROM items`;
  const result = await trx.raw(sql, [runId, ...stagedRows.bindings, locationId, runId, runId, runId, locationId]);
  const row = result.rows[0];
  const usableCount = staged.count - row.duplicates;
  return {
    newCount: row.new,
    updateCount: row.update,
    deactivateCount: row.deactivate,
    unchangedCount: usableCount - row.new - row.update,
    rejectedCount: row.rejected_in_pages + row.duplicates,
    usableCount,
    localActiveCount: row.local_active,
  };
}
