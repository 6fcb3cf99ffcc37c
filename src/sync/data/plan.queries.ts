import type { Knex } from 'knex';

/**
 * The preview's SQL, on one transaction: a temporary staging table (filled by the StagingWriter with the
 * rows the LocalUserIndex passes on), planned into items a stretch of the remote list at a time while the
 * later pages are still being fetched, then finished once the list is complete: duplicate emails, local
 * users missing remotely, the unchanged users. Every statement is set-based; none reads users into memory.
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
  // Each stretch reads its rows by position: without the index every stretch would read the whole table,
  // which grows with the list (at a million users, seconds).
  await trx.raw('CREATE INDEX ON sync_staging (position)');
}

/** Past every position: a list position is a count of remote rows, an int4. */
const END_OF_LIST = 2 ** 31 - 1;

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
 * Turns the staged rows into plan items. Items are inserted in plan order (remote position, then user
 * id), so each kind's items read back in that order by id.
 */
export class PlanWriter {
  private plannedUpTo = 0;
  private newCount = 0;
  private updateCount = 0;
  /** Staged rows the statement found unchanged (the index compares COPY texts, which can differ for equal values). */
  private alsoUnchanged: number[] = [];

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly runId: number,
  ) {}

  /**
   * Plans the staged remote rows before `position` not planned yet, as new or update items: each joined
   * with its local user by id (the same snapshot the index read). Duplicates are settled in finish().
   */
  async planUpTo(position: number | null): Promise<void> {
    const result = await this.trx.raw(
      `WITH plan AS MATERIALIZED (
         SELECT s.*, u.email AS user_email, u.name AS user_name, u.role AS user_role,
                u.is_active AS user_is_active, u.remote_id AS user_remote_id, u.updated_at AS user_updated_at,
                CASE
                  WHEN s.user_id IS NULL THEN 'new'
                  WHEN ${anyFieldDiffers('u.', 's.')} THEN 'update'
                END AS kind
         FROM sync_staging s
         -- By primary key: a few thousand lookups, where a hash join would read every user of every location.
         LEFT JOIN LATERAL (SELECT * FROM users WHERE id = s.user_id) u ON true
         WHERE s.email IS NOT NULL AND s.position >= ?::int AND s.position < ?::int
       ),
       items AS (
         INSERT INTO sync_run_items (sync_run_id, kind, user_id, email, before, after, user_updated_at, remote_page)
         SELECT ?::int, p.kind,
                p.user_id,
                CASE p.kind WHEN 'update' THEN p.user_email ELSE p.email END,
                CASE WHEN p.kind = 'update' THEN
                  jsonb_build_object('email', p.user_email)
                  ${differingFields('before')}
                END,
                CASE p.kind
                  WHEN 'new' THEN
                    jsonb_build_object('email', p.email, 'name', p.name, 'role', p.role, 'is_active', p.is_active,
                                       'remote_id', p.remote_id)
                  ELSE
                    jsonb_build_object('email', p.user_email)
                    ${differingFields('after')}
                    || CASE WHEN p.is_active AND NOT p.user_is_active THEN '{"reactivated": true}'::jsonb ELSE '{}' END
                END,
                p.user_updated_at,
                p.page
         FROM plan p
         WHERE p.kind IS NOT NULL
         ORDER BY p.position
         RETURNING kind
       )
       SELECT (SELECT count(*) FROM items WHERE kind = 'new')::int AS new,
              (SELECT count(*) FROM items WHERE kind = 'update')::int AS update,
              (SELECT coalesce(array_agg(user_id), '{}') FROM plan WHERE kind IS NULL) AS also_unchanged`,
      [this.plannedUpTo, position ?? END_OF_LIST, this.runId],
    );
    const row = result.rows[0] as { new: number; update: number; also_unchanged: number[] };
    this.newCount += row.new;
    this.updateCount += row.update;
    this.alsoUnchanged.push(...row.also_unchanged);
    if (position !== null) this.plannedUpTo = position;
  }

  /**
   * Plans the rest once the whole list is staged: rejects every copy of an email the list names twice
   * (which cannot say which row is right; the local user is kept), deactivates the local users the list
   * does not name, and keeps the unchanged users' ids on the run.
   */
  async finish(list: TriagedList): Promise<PlanCounts> {
    await this.planUpTo(null);
    const { duplicateRows, duplicateUserIds } = await this.rejectDuplicates(list.possibleDuplicates);
    const deactivateCount = await this.deactivateMissing();
    const unchangedUserIds = mergeSorted(
      list.unchangedUserIds,
      this.alsoUnchanged.filter((id) => !duplicateUserIds.has(id)),
    );
    const result = await this.trx.raw(
      `WITH unchanged AS (
         -- The unchanged users are listed on the preview (folded away) from their ids, kept sorted.
         UPDATE sync_runs SET unchanged_user_ids = ?::int[] WHERE id = ?::int
       )
       SELECT count(*)::int AS rejected FROM sync_run_items WHERE sync_run_id = ?::int AND kind = 'rejected'`,
      [`{${unchangedUserIds.join(',')}}`, this.runId, this.runId],
    );
    const usableCount = list.remoteUserCount - duplicateRows;
    return {
      newCount: this.newCount,
      updateCount: this.updateCount,
      deactivateCount,
      unchangedCount: usableCount - this.newCount - this.updateCount,
      rejectedCount: result.rows[0].rejected,
      usableCount,
      localActiveCount: list.localActiveCount,
    };
  }

  /** Replaces the items of every copy of a duplicated email by a rejected item per copy, in list order. */
  private async rejectDuplicates(possibleDuplicates: string[]): Promise<{ duplicateRows: number; duplicateUserIds: Set<number> }> {
    // Only emails seen twice while triaging can be duplicates; usually there are none.
    if (possibleDuplicates.length === 0) return { duplicateRows: 0, duplicateUserIds: new Set() };
    const result = await this.trx.raw(
      `WITH duplicate AS (
         SELECT email, count(*) AS copies, array_agg(DISTINCT user_id) FILTER (WHERE user_id IS NOT NULL) AS user_ids
         FROM sync_staging
         WHERE email = ANY(?::text[])
         GROUP BY email HAVING count(*) > 1
       ),
       dropped AS (
         DELETE FROM sync_run_items i
         WHERE i.sync_run_id = ?::int
           AND ((i.kind = 'new' AND i.email IN (SELECT email FROM duplicate))
             OR (i.kind = 'update' AND i.user_id IN (SELECT unnest(user_ids) FROM duplicate)))
         RETURNING i.kind
       ),
       rejected AS (
         INSERT INTO sync_run_items (sync_run_id, kind, email, reason, excerpt, remote_page)
         SELECT ?::int, 'rejected', s.email,
                'email appears ' || d.copies || ' times in the remote list',
                jsonb_build_object('id', s.remote_id, 'email', s.email, 'name', s.name, 'role', s.role, 'is_active', s.is_active)::text,
                s.page
         FROM sync_staging s JOIN duplicate d ON d.email = s.email
         ORDER BY s.position
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM dropped WHERE kind = 'new')::int AS new_dropped,
              (SELECT count(*) FROM dropped WHERE kind = 'update')::int AS update_dropped,
              (SELECT count(*) FROM rejected)::int AS rejected,
              (SELECT coalesce(array_agg(id), '{}') FROM duplicate, unnest(user_ids) AS id) AS user_ids`,
      [possibleDuplicates, this.runId, this.runId],
    );
    const row = result.rows[0] as { new_dropped: number; update_dropped: number; rejected: number; user_ids: number[] };
    this.newCount -= row.new_dropped;
    this.updateCount -= row.update_dropped;
    return { duplicateRows: row.rejected, duplicateUserIds: new Set(row.user_ids) };
  }

  /** Local users missing remotely are deactivated, unless a rejected row names the email: a broken row is not a departure. */
  private async deactivateMissing(): Promise<number> {
    const result = await this.trx.raw(
      `INSERT INTO sync_run_items (sync_run_id, kind, user_id, email, before, after, user_updated_at)
       SELECT ?::int, 'deactivate', u.id, u.email,
              jsonb_build_object('email', u.email, 'name', u.name, 'is_active', true),
              jsonb_build_object('email', u.email, 'is_active', false),
              u.updated_at
       FROM sync_staging s
       JOIN users u ON u.id = s.user_id
       WHERE s.email IS NULL AND u.is_active
         AND lower(u.email) NOT IN (
           SELECT r.email FROM sync_run_items r
           WHERE r.sync_run_id = ?::int AND r.kind = 'rejected' AND r.email IS NOT NULL)
       ORDER BY u.id`,
      [this.runId, this.runId],
    );
    return result.rowCount ?? 0;
  }
}

/** The union of an ascending list and a few more ids, ascending. */
function mergeSorted(sorted: Int32Array, more: number[]): Int32Array {
  if (more.length === 0) return sorted;
  const merged = new Int32Array(sorted.length + more.length);
  merged.set(sorted);
  merged.set(more, sorted.length);
  return merged.sort();
}
