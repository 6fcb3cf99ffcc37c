import type { Knex } from 'knex';
import { int4ArrayParameter } from './int-array-parameter';

/**
 * The preview's SQL, on one transaction: a temporary staging table (filled by the StagingWriter with the
 * rows the LocalUserIndex passes on), planned into items a stretch of the remote list at a time while the
 * later pages are still being fetched, then finished once the list is complete: duplicate emails, local
 * users missing remotely, the unchanged users. Every statement is set-based; none reads users into memory.
 */

export interface PlanCounts {
  newCount: number;
  updateCount: number;
  /** Changes that only record the remote id of a local user that had none. */
  linkedCount: number;
  /** Inactive remotely plus missing from the remote list. */
  deactivateCount: number;
  unchangedCount: number;
  rejectedCount: number;
  /** Usable remote users after removing duplicates. */
  usableCount: number;
  localActiveCount: number;
  /** Active users the location would have after execute. */
  activeAfterCount: number;
}

/** The fields a sync compares and writes; an update item records only those that differ. */
const SYNCED_FIELDS = ['name', 'role', 'is_active', 'remote_id'] as const;

/** SQL that is true when the local user (`local.`) and the remote row (`remote.`) differ in any of the fields. */
const anyFieldDiffers = (local: string, remote: string, fields: readonly string[] = SYNCED_FIELDS) =>
  fields.map((field) => `${local}${field} IS DISTINCT FROM ${remote}${field}`).join('\n                    OR ');

/**
 * The kind of item a remote row of a local user becomes (NULL: unchanged). A user active here and inactive
 * there is a deactivation, like one missing from the list, so the guard counts it; a change that only
 * gives a user without one its remote id is a link, kept apart from the updates an admin must read.
 */
const KIND_OF_KNOWN_USER = `CASE
                  WHEN u.is_active AND NOT s.is_active THEN 'deactivate'
                  WHEN NOT (${anyFieldDiffers(
                    'u.',
                    's.',
                    SYNCED_FIELDS.filter((f) => f !== 'remote_id'),
                  )})
                       AND u.remote_id IS NULL AND s.remote_id IS NOT NULL THEN 'linked'
                  WHEN ${anyFieldDiffers('u.', 's.')} THEN 'update'
                END`;

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

/** Items a statement wrote or dropped, by kind; `adds_active`: new active users and reactivations. */
interface ItemCounts {
  new: number;
  update: number;
  linked: number;
  inactive: number;
  adds_active: number;
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
  private linkedCount = 0;
  /** Deactivations of users the list names as inactive (the missing ones are planned in finish()). */
  private inactiveCount = 0;
  /** New active users and reactivations: what keeps a location from being left without active users. */
  private addsActiveCount = 0;
  /** Staged rows the statement found unchanged (the index compares COPY texts, which can differ for equal values). */
  private alsoUnchanged: number[] = [];

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly runId: number,
    private readonly locationCode: string,
  ) {}

  /**
   * Plans the staged remote rows before `position` not planned yet, as new, update, linked or deactivate
   * items: each joined with its local user by id (the same snapshot the index read). Duplicates are
   * settled in finish().
   */
  async planUpTo(position: number | null): Promise<void> {
    const result = await this.trx.raw(
      `WITH plan AS MATERIALIZED (
         SELECT s.*, u.email AS user_email, u.name AS user_name, u.role AS user_role,
                u.is_active AS user_is_active, u.remote_id AS user_remote_id, u.updated_at AS user_updated_at,
                CASE WHEN s.user_id IS NULL THEN 'new' ELSE ${KIND_OF_KNOWN_USER} END AS kind
         FROM sync_staging s
         -- By primary key: a few thousand lookups, where a hash join would read every user of every location.
         LEFT JOIN LATERAL (SELECT * FROM users WHERE id = s.user_id) u ON true
         WHERE s.email IS NOT NULL AND s.position >= ?::int AND s.position < ?::int
       ),
       items AS (
         INSERT INTO sync_run_items (sync_run_id, kind, user_id, email, before, after, user_updated_at, remote_page, reason, reason_params)
         SELECT ?::int, p.kind,
                p.user_id,
                CASE p.kind WHEN 'new' THEN p.email ELSE p.user_email END,
                CASE WHEN p.kind <> 'new' THEN
                  jsonb_build_object('email', p.user_email)
                  ${differingFields('before')}
                  -- A deactivation's row names the user even when the name does not change.
                  || CASE WHEN p.kind = 'deactivate' THEN jsonb_build_object('name', p.user_name) ELSE '{}' END
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
                p.page,
                CASE WHEN p.kind = 'deactivate' THEN 'remote_inactive' END,
                CASE WHEN p.kind = 'deactivate' THEN ?::jsonb END
         FROM plan p
         WHERE p.kind IS NOT NULL
         ORDER BY p.position
         RETURNING kind, (kind = 'new' AND (after->>'is_active')::boolean) OR after->>'reactivated' IS NOT NULL AS adds_active
       )
       SELECT (SELECT count(*) FROM items WHERE kind = 'new')::int AS new,
              (SELECT count(*) FROM items WHERE kind = 'update')::int AS update,
              (SELECT count(*) FROM items WHERE kind = 'linked')::int AS linked,
              (SELECT count(*) FROM items WHERE kind = 'deactivate')::int AS inactive,
              (SELECT count(*) FROM items WHERE adds_active)::int AS adds_active,
              (SELECT coalesce(array_agg(user_id), '{}') FROM plan WHERE kind IS NULL) AS also_unchanged`,
      [this.plannedUpTo, position ?? END_OF_LIST, this.runId, JSON.stringify({ location: this.locationCode })],
    );
    const row = result.rows[0] as ItemCounts & { also_unchanged: number[] };
    this.count(row, 1);
    this.alsoUnchanged.push(...row.also_unchanged);
    if (position !== null) this.plannedUpTo = position;
  }

  private count(counts: ItemCounts, sign: 1 | -1): void {
    this.newCount += sign * counts.new;
    this.updateCount += sign * counts.update;
    this.linkedCount += sign * counts.linked;
    this.inactiveCount += sign * counts.inactive;
    this.addsActiveCount += sign * counts.adds_active;
  }

  /**
   * Plans the rest once the whole list is staged: rejects every copy of an email the list names twice
   * (which cannot say which row is right; the local user is kept), deactivates the local users the list
   * does not name, and keeps the unchanged users' ids on the run.
   */
  async finish(list: TriagedList): Promise<PlanCounts> {
    await this.planUpTo(null);
    const { duplicateRows, duplicateUserIds } = await this.rejectDuplicates(list.possibleDuplicates);
    const missingCount = await this.deactivateMissing();
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
      [int4ArrayParameter(unchangedUserIds), this.runId, this.runId],
    );
    const usableCount = list.remoteUserCount - duplicateRows;
    const deactivateCount = this.inactiveCount + missingCount;
    return {
      newCount: this.newCount,
      updateCount: this.updateCount,
      linkedCount: this.linkedCount,
      deactivateCount,
      unchangedCount: usableCount - this.newCount - this.updateCount - this.linkedCount - this.inactiveCount,
      rejectedCount: result.rows[0].rejected,
      usableCount,
      localActiveCount: list.localActiveCount,
      activeAfterCount: list.localActiveCount - deactivateCount + this.addsActiveCount,
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
             OR (i.kind IN ('update', 'linked', 'deactivate') AND i.user_id IN (SELECT unnest(user_ids) FROM duplicate)))
         RETURNING i.kind, (i.kind = 'new' AND (i.after->>'is_active')::boolean) OR i.after->>'reactivated' IS NOT NULL AS adds_active
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
       SELECT (SELECT count(*) FROM dropped WHERE kind = 'new')::int AS new,
              (SELECT count(*) FROM dropped WHERE kind = 'update')::int AS update,
              (SELECT count(*) FROM dropped WHERE kind = 'linked')::int AS linked,
              (SELECT count(*) FROM dropped WHERE kind = 'deactivate')::int AS inactive,
              (SELECT count(*) FROM dropped WHERE adds_active)::int AS adds_active,
              (SELECT count(*) FROM rejected)::int AS rejected,
              (SELECT coalesce(array_agg(id), '{}') FROM duplicate, unnest(user_ids) AS id) AS user_ids`,
      [possibleDuplicates, this.runId, this.runId],
    );
    const row = result.rows[0] as ItemCounts & { rejected: number; user_ids: number[] };
    this.count(row, -1);
    return { duplicateRows: row.rejected, duplicateUserIds: new Set(row.user_ids) };
  }

  /** Local users missing remotely are deactivated, unless a rejected row names the email: a broken row is not a departure. */
  private async deactivateMissing(): Promise<number> {
    const result = await this.trx.raw(
      `INSERT INTO sync_run_items (sync_run_id, kind, user_id, email, before, after, user_updated_at, reason, reason_params)
       SELECT ?::int, 'deactivate', u.id, u.email,
              jsonb_build_object('email', u.email, 'name', u.name, 'is_active', true),
              jsonb_build_object('email', u.email, 'is_active', false),
              u.updated_at, 'remote_missing', ?::jsonb
       FROM sync_staging s
       JOIN users u ON u.id = s.user_id
       WHERE s.email IS NULL AND u.is_active
         AND lower(u.email) NOT IN (
           SELECT r.email FROM sync_run_items r
           WHERE r.sync_run_id = ?::int AND r.kind = 'rejected' AND r.email IS NOT NULL)
       ORDER BY u.id`,
      [this.runId, JSON.stringify({ location: this.locationCode }), this.runId],
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
