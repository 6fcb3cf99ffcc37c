import type { Knex } from '../../platform/db/knex';
import { PLANNED_STATUSES } from '../run-lifecycle';
import { effectiveStatusSql } from './sync-runs.queries';

/** Statuses whose run holds a plan (a preview that finished, whatever became of it). */
const PLANNED = [...PLANNED_STATUSES];

export interface RunsByStatus {
  location: string;
  runType: string;
  status: string;
  runs: number;
}

export interface LocationSyncTimes {
  location: string;
  /** Unix seconds of the last completed sync (or preview that found nothing to change); null: never. */
  lastSuccess: number | null;
  /** Unix seconds of the last drift check that produced a plan; null: never. */
  lastDriftCheck: number | null;
}

export interface LatestPlan {
  location: string;
  runType: string;
  counts: Record<'new' | 'update' | 'deactivate' | 'unchanged' | 'rejected', number>;
  guardRequired: boolean;
}

/** What the metrics read at scrape time: small aggregates over sync_runs, one row per location (and type). */
export function createSyncMetricsQueries(db: Knex) {
  return {
    async runsByStatus(): Promise<RunsByStatus[]> {
      const result = await db.raw(
        `SELECT l.code AS location, r.run_type, ${effectiveStatusSql('r')} AS status, count(*)::int AS runs
         FROM sync_runs r JOIN locations l ON l.id = r.location_id
         GROUP BY 1, 2, 3`,
      );
      return result.rows.map((row: { location: string; run_type: string; status: string; runs: number }) => ({
        location: row.location,
        runType: row.run_type,
        status: row.status,
        runs: row.runs,
      }));
    },

    async syncTimes(): Promise<LocationSyncTimes[]> {
      const result = await db.raw(
        `SELECT l.code AS location,
                extract(epoch FROM max(coalesce(r.executed_at, r.updated_at))
                  FILTER (WHERE r.run_type = 'sync' AND r.status IN ('completed', 'no_change')))::float8 AS last_success,
                extract(epoch FROM max(r.updated_at)
                  FILTER (WHERE r.run_type = 'drift' AND r.status = ANY(?::text[])))::float8 AS last_drift_check
         FROM locations l LEFT JOIN sync_runs r ON r.location_id = l.id
         WHERE l.online_url IS NOT NULL
         GROUP BY l.code`,
        [PLANNED],
      );
      return result.rows.map((row: { location: string; last_success: number | null; last_drift_check: number | null }) => ({
        location: row.location,
        lastSuccess: row.last_success,
        lastDriftCheck: row.last_drift_check,
      }));
    },

    /** The newest plan of each location and run type: the latest preview's counts, the latest drift check's. */
    async latestPlans(): Promise<LatestPlan[]> {
      const result = await db.raw(
        `SELECT DISTINCT ON (r.location_id, r.run_type)
                l.code AS location, r.run_type, r.new_count, r.update_count, r.deactivate_count, r.unchanged_count,
                r.rejected_count, r.guard_required
         FROM sync_runs r JOIN locations l ON l.id = r.location_id
         WHERE r.status = ANY(?::text[])
         ORDER BY r.location_id, r.run_type, r.id DESC`,
        [PLANNED],
      );
      return result.rows.map(
        (row: {
          location: string;
          run_type: string;
          new_count: number;
          update_count: number;
          deactivate_count: number;
          unchanged_count: number;
          rejected_count: number;
          guard_required: boolean;
        }) => ({
          location: row.location,
          runType: row.run_type,
          counts: {
            new: row.new_count,
            update: row.update_count,
            deactivate: row.deactivate_count,
            unchanged: row.unchanged_count,
            rejected: row.rejected_count,
          },
          guardRequired: row.guard_required,
        }),
      );
    },
  };
}

export type SyncMetricsQueries = ReturnType<typeof createSyncMetricsQueries>;
