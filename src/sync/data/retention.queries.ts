import type { Knex } from 'knex';
import { int4ArrayParameter } from './int-array-parameter';
import { CHANGE_KINDS } from './revert.queries';
import { effectiveStatusSql } from './sync-runs.queries';

/**
 * The SQL of audit retention: an old run loses its per-user items (sync_run_items) and its unchanged-id
 * array, and keeps its row (who, when, counts, outcome), marked with details_purged_at. Every statement is
 * set-based and bounded: runs are taken a batch at a time, their items deleted a batch at a time.
 */

const sqlList = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');
const changedCount = (r: string) => `(${r}.new_count + ${r}.update_count + ${r}.deactivate_count + ${r}.linked_count)`;

/**
 * SyncRevertService's rule as SQL: completed and executed, changed users, not reverted by a completed
 * revert, and every change still has its item. Such a run may still be reverted, so it keeps everything.
 */
const revertibleSql = (r: string) => `(
  ${r}.status = 'completed' AND ${r}.executed_at IS NOT NULL AND ${changedCount(r)} > 0
  AND NOT EXISTS (SELECT 1 FROM sync_runs x WHERE x.reverts_run_id = ${r}.id AND ${effectiveStatusSql('x')} = 'completed')
  AND (SELECT count(*) FROM sync_run_items i WHERE i.sync_run_id = ${r}.id AND i.kind IN (${sqlList(CHANGE_KINDS)})) >= ${changedCount(r)}
)`;

/**
 * Runs created before the cutoff that still hold details, and are over: a preview that can still be
 * executed, or a run in progress, is never touched, however old.
 */
const oldWithDetailsSql = (r: string) => `(
  ${r}.created_at < ?::timestamptz
  AND ${effectiveStatusSql(r)} NOT IN ('queued', 'previewing', 'previewed', 'executing')
  AND (${r}.unchanged_user_ids IS NOT NULL OR EXISTS (SELECT 1 FROM sync_run_items i WHERE i.sync_run_id = ${r}.id))
)`;

export interface RunDetailsCounts {
  /** Runs whose details go (or went). */
  runs: number;
  /** Their per-user items. */
  items: number;
  /** Their unchanged-id arrays. */
  arrays: number;
}

export interface RetentionQueries {
  /** now() minus the days, by the database's clock. */
  cutoff(days: number): Promise<Date>;
  /** What a purge at this cutoff would remove, and the old runs it keeps because they can be reverted. */
  countPurgeable(cutoff: Date): Promise<RunDetailsCounts & { keptRevertible: number }>;
  /** Marks up to `limit` purgeable runs purged and drops their arrays; returns their ids and how many had one. */
  markPurged(cutoff: Date, limit: number): Promise<{ runIds: number[]; arrays: number }>;
  /** Deletes up to `limit` items of these runs; the count deleted. */
  deleteItems(runIds: readonly number[], limit: number): Promise<number>;
  /** Old runs that still hold details after a purge: those that can be reverted. */
  countKept(cutoff: Date): Promise<number>;
}

export function createRetentionQueries(db: Knex): RetentionQueries {
  return {
    async cutoff(days) {
      const result = await db.raw('SELECT now() - make_interval(days => ?::int) AS cutoff', [days]);
      return result.rows[0].cutoff as Date;
    },

    async countPurgeable(cutoff) {
      const result = await db.raw(
        `SELECT count(*) FILTER (WHERE NOT c.revertible)::int AS runs,
                coalesce(sum(c.items) FILTER (WHERE NOT c.revertible), 0)::bigint AS items,
                count(*) FILTER (WHERE NOT c.revertible AND c.has_array)::int AS arrays,
                count(*) FILTER (WHERE c.revertible)::int AS kept_revertible
         FROM (SELECT ${revertibleSql('r')} AS revertible, r.unchanged_user_ids IS NOT NULL AS has_array,
                      (SELECT count(*) FROM sync_run_items i WHERE i.sync_run_id = r.id) AS items
               FROM sync_runs r
               WHERE ${oldWithDetailsSql('r')}) c`,
        [cutoff],
      );
      const row = result.rows[0];
      return { runs: row.runs, items: Number(row.items), arrays: row.arrays, keptRevertible: row.kept_revertible };
    },

    async markPurged(cutoff, limit) {
      // SKIP LOCKED: a second purge (another instance, the CLI) takes other runs instead of waiting.
      const result = await db.raw(
        `WITH batch AS (
           SELECT r.id, r.unchanged_user_ids IS NOT NULL AS had_array
           FROM sync_runs r
           WHERE ${oldWithDetailsSql('r')} AND NOT ${revertibleSql('r')}
           ORDER BY r.id
           LIMIT ?::int
           FOR UPDATE OF r SKIP LOCKED
         )
         UPDATE sync_runs r SET unchanged_user_ids = NULL, details_purged_at = coalesce(r.details_purged_at, now())
         FROM batch WHERE r.id = batch.id
         RETURNING r.id, batch.had_array`,
        [cutoff, limit],
      );
      const rows = result.rows as Array<{ id: number; had_array: boolean }>;
      return { runIds: rows.map((row) => row.id), arrays: rows.filter((row) => row.had_array).length };
    },

    async deleteItems(runIds, limit) {
      if (runIds.length === 0) return 0;
      const result = await db.raw(
        `DELETE FROM sync_run_items WHERE id IN (
           SELECT id FROM sync_run_items WHERE sync_run_id = ANY(?::int[]) LIMIT ?::int
         )`,
        [int4ArrayParameter(Int32Array.from(runIds)), limit],
      );
      return result.rowCount ?? 0;
    },

    async countKept(cutoff) {
      const result = await db.raw(`SELECT count(*)::int AS kept FROM sync_runs r WHERE ${oldWithDetailsSql('r')}`, [cutoff]);
      return result.rows[0].kept as number;
    },
  };
}
