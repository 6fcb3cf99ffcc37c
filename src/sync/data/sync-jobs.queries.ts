import type { Knex } from 'knex';
import { RUN_STARTS, RUN_TRANSITIONS, RUNNING_STATUSES } from '../run-lifecycle';
import { transition, type SyncRunStatus, type SyncRunType } from './sync-runs.queries';

/** The statuses a worker runs a run in: a claimed preview, a handed-over execute. */
const WORKED_STATUSES = [RUN_TRANSITIONS.claim.to, RUN_TRANSITIONS.handOver.to];
/** The statuses a job is asked for in: a queued preview, a handed-over execute. */
const ASKED_FOR_STATUSES = [RUN_STARTS.queue, RUN_TRANSITIONS.handOver.to];

/** What a run is doing now, as its page shows it. */
export type SyncPhase = 'queued' | 'signing_in' | 'fetching' | 'planning' | 'executing';

export interface SyncProgress {
  runId: number;
  locationId: number;
  status: SyncRunStatus;
  runType: SyncRunType;
  phase: SyncPhase;
  pagesFetched: number;
  usersFetched: number;
  pagesTotal: number | null;
  usersTotal: number | null;
  jobId: string | null;
  worker: string | null;
  attempt: number;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  cancelRequested: boolean;
  /** Seconds since the run was queued, by the database's clock (instances' clocks may differ). */
  elapsedSeconds: number;
}

export interface FetchFigures {
  pagesFetched: number;
  usersFetched: number;
  pagesTotal: number | null;
  usersTotal: number | null;
}

/** A run whose worker went silent and whose transaction is gone: its instance died. */
export interface StalledRun {
  runId: number;
  locationId: number;
  status: 'previewing' | 'executing';
  jobId: string | null;
  attempt: number;
  cancelRequested: boolean;
}

interface ProgressRow {
  sync_run_id: number;
  location_id: number;
  status: SyncRunStatus;
  run_type: SyncRunType;
  phase: SyncPhase;
  pages_fetched: number;
  users_fetched: number;
  pages_total: number | null;
  users_total: number | null;
  job_id: string | null;
  worker: string | null;
  attempt: number;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  cancel_requested: boolean;
  elapsed_seconds: number;
}

const ACTIVE_INDEX = 'sync_runs_one_active_per_location';

const isActiveRunConflict = (error: unknown) =>
  (error as { code?: string; constraint?: string }).code === '23505' && (error as { constraint?: string }).constraint === ACTIVE_INDEX;

/** The running and waiting runs of sync jobs, and their progress row (written outside the run's own transaction). */
export function createSyncJobsRepository(db: Knex) {
  return {
    /**
     * Queues a preview (or drift check) of a location, unless one of its runs is already queued or
     * running: then that run's id comes back instead.
     */
    async queuePreview(input: { locationId: number; previewedBy: number | null; runType: SyncRunType }): Promise<{ runId: number; queued: boolean }> {
      try {
        const runId = await db.transaction(async (trx) => {
          const [row] = await trx('sync_runs')
            .insert({ location_id: input.locationId, previewed_by: input.previewedBy, status: RUN_STARTS.queue, run_type: input.runType })
            .returning('id');
          const id = (row as { id: number }).id;
          await trx('sync_run_progress').insert({ sync_run_id: id, phase: 'queued' });
          return id;
        });
        return { runId, queued: true };
      } catch (error) {
        if (!isActiveRunConflict(error)) throw error;
        const active = await this.activeRunOf(input.locationId);
        if (active === undefined) throw error;
        return { runId: active, queued: false };
      }
    },

    async activeRunOf(locationId: number, trx: Knex = db): Promise<number | undefined> {
      const row = await trx('sync_runs').where({ location_id: locationId }).whereIn('status', RUNNING_STATUSES).first('id');
      return (row as { id: number } | undefined)?.id;
    },

    isActiveRunConflict,

    /** The jobs of the location's latest runs, newest first. */
    async recentJobIds(locationId: number): Promise<string[]> {
      return db('sync_run_progress as p')
        .join('sync_runs as r', 'r.id', 'p.sync_run_id')
        .where('r.location_id', locationId)
        .whereNotNull('p.job_id')
        .orderBy('r.id', 'desc')
        .limit(3)
        .pluck('p.job_id');
    },

    async setJobId(runId: number, jobId: string): Promise<void> {
      await db('sync_run_progress').where({ sync_run_id: runId }).update({ job_id: jobId, heartbeat_at: db.fn.now() });
    },

    /** A worker starts the queued preview: false when it is no longer queued (cancelled, taken over). */
    async startPreview(runId: number, worker: string): Promise<{ attempt: number } | undefined> {
      return db.transaction(async (trx) => {
        const started = await transition(trx, runId, 'claim');
        if (started === 0) return undefined;
        const [row] = await trx('sync_run_progress')
          .where({ sync_run_id: runId })
          .update({
            phase: 'signing_in',
            worker,
            attempt: trx.raw('attempt + 1'),
            started_at: trx.fn.now(),
            heartbeat_at: trx.fn.now(),
            pages_fetched: 0,
            users_fetched: 0,
            pages_total: null,
            users_total: null,
          })
          .returning('attempt');
        return { attempt: (row as { attempt: number }).attempt };
      });
    },

    async startExecute(runId: number, worker: string): Promise<void> {
      await db('sync_run_progress')
        .where({ sync_run_id: runId })
        .update({ phase: 'executing', worker, started_at: db.fn.now(), heartbeat_at: db.fn.now() });
    },

    /** Writes the phase and figures (or only the heartbeat); says whether a cancel was asked for meanwhile. */
    async beat(runId: number, update: { phase?: SyncPhase } & Partial<FetchFigures> = {}): Promise<{ cancelRequested: boolean }> {
      const row = {
        heartbeat_at: db.fn.now(),
        ...(update.phase && { phase: update.phase }),
        ...(update.pagesFetched !== undefined && { pages_fetched: update.pagesFetched }),
        ...(update.usersFetched !== undefined && { users_fetched: update.usersFetched }),
        ...(update.pagesTotal !== undefined && { pages_total: update.pagesTotal }),
        ...(update.usersTotal !== undefined && { users_total: update.usersTotal }),
      };
      const [result] = await db('sync_run_progress')
        .where({ sync_run_id: runId })
        .update(row)
        .returning(db.raw('cancel_requested_at IS NOT NULL AS cancel_requested'));
      return { cancelRequested: Boolean((result as { cancel_requested?: boolean } | undefined)?.cancel_requested) };
    },

    /** A run made without a job (a revert, the CLI's) has no progress row: it reads as its status, no figures. */
    async read(runId: number): Promise<SyncProgress | undefined> {
      const row: ProgressRow | undefined = await db('sync_runs as r')
        .leftJoin('sync_run_progress as p', 'p.sync_run_id', 'r.id')
        .where('r.id', runId)
        .first(
          'r.id as sync_run_id',
          'r.location_id',
          'r.status',
          'r.run_type',
          db.raw(`coalesce(p.phase, 'queued') AS phase`),
          db.raw('coalesce(p.pages_fetched, 0) AS pages_fetched'),
          db.raw('coalesce(p.users_fetched, 0) AS users_fetched'),
          'p.pages_total',
          'p.users_total',
          'p.job_id',
          'p.worker',
          db.raw('coalesce(p.attempt, 0) AS attempt'),
          'r.error',
          'r.created_at',
          'p.started_at',
          db.raw('p.cancel_requested_at IS NOT NULL AS cancel_requested'),
          db.raw('floor(extract(epoch FROM now() - r.created_at))::int AS elapsed_seconds'),
        );
      return (
        row && {
          runId: row.sync_run_id,
          locationId: row.location_id,
          status: row.status,
          runType: row.run_type,
          phase: row.phase,
          pagesFetched: row.pages_fetched,
          usersFetched: row.users_fetched,
          pagesTotal: row.pages_total,
          usersTotal: row.users_total,
          jobId: row.job_id,
          worker: row.worker,
          attempt: row.attempt,
          error: row.error,
          createdAt: row.created_at,
          startedAt: row.started_at,
          cancelRequested: row.cancel_requested,
          elapsedSeconds: row.elapsed_seconds,
        }
      );
    },

    /**
     * Cancels a queued preview at once; a running one is asked to stop (its worker sees the request at its
     * next heartbeat and rolls back). Anything else cannot be cancelled.
     */
    async requestCancel(runId: number, message: string): Promise<'cancelled' | 'requested' | 'not-running'> {
      // Queued: cancelled at once. Running: asked below, and its worker ends it.
      const cancelled = await transition(db, (q) => q.where({ id: runId, status: RUN_STARTS.queue }).whereNot('run_type', 'revert'), 'cancel', {
        error: message,
      });
      if (cancelled > 0) return 'cancelled';
      const requested = await db('sync_run_progress')
        .where({ sync_run_id: runId })
        .whereIn('sync_run_id', db('sync_runs').select('id').where({ id: runId, status: RUN_TRANSITIONS.claim.to }))
        .update({ cancel_requested_at: db.fn.now() });
      return requested > 0 ? 'requested' : 'not-running';
    },

    /**
     * Runs that are running by their status but whose worker has been silent for `stallSeconds` and whose
     * transaction no longer holds the run's row: locked rows are skipped, so a live worker is never taken
     * over. `recover` decides each one's fate inside the transaction that holds them.
     */
    async recoverStalled(stallSeconds: number, recover: (trx: Knex.Transaction, run: StalledRun) => Promise<void>): Promise<StalledRun[]> {
      return db.transaction(async (trx) => {
        const result = await trx.raw(
          `SELECT r.id, r.location_id, r.status, p.job_id, p.attempt, p.cancel_requested_at IS NOT NULL AS cancel_requested
           FROM sync_runs r JOIN sync_run_progress p ON p.sync_run_id = r.id
           WHERE r.status = ANY(?::text[]) AND p.phase <> 'queued'
             AND p.heartbeat_at < now() - make_interval(secs => ?::int)
           ORDER BY r.id
           FOR UPDATE OF r SKIP LOCKED`,
          [WORKED_STATUSES, stallSeconds],
        );
        const runs: StalledRun[] = result.rows.map(
          (row: {
            id: number;
            location_id: number;
            status: 'previewing' | 'executing';
            job_id: string | null;
            attempt: number;
            cancel_requested: boolean;
          }) => ({
            runId: row.id,
            locationId: row.location_id,
            status: row.status,
            jobId: row.job_id,
            attempt: row.attempt,
            cancelRequested: row.cancel_requested,
          }),
        );
        for (const run of runs) await recover(trx, run);
        return runs;
      });
    },

    /** A preview whose worker stops goes back to the queue, to start again from scratch. */
    async requeuePreview(runId: number, trx: Knex = db): Promise<void> {
      await transition(trx, runId, 'handBack');
      await trx('sync_run_progress')
        .where({ sync_run_id: runId })
        .update({ phase: 'queued', worker: null, job_id: null, heartbeat_at: trx.fn.now() });
    },

    /** Ends a queued or running run: failed, cancelled, or (an execute that never committed) back to its preview. */
    async endRun(runId: number, event: 'failPreview' | 'cancel' | 'interruptExecute', error: string, trx: Knex = db): Promise<void> {
      await transition(trx, runId, event, { error });
    },

    /** Queued runs (and executes handed over) that have waited `stallSeconds`: their job may be lost. */
    async listWaiting(
      stallSeconds: number,
    ): Promise<Array<{ runId: number; locationId: number; status: SyncRunStatus; jobId: string | null; adminId: number | null }>> {
      const rows = await db('sync_runs as r')
        .join('sync_run_progress as p', 'p.sync_run_id', 'r.id')
        .where('p.phase', 'queued')
        .whereIn('r.status', ASKED_FOR_STATUSES)
        .andWhereRaw('p.heartbeat_at < now() - make_interval(secs => ?::int)', [stallSeconds])
        .select(
          'r.id',
          'r.location_id',
          'r.status',
          'p.job_id',
          db.raw('CASE WHEN r.status = ? THEN p.requested_by ELSE r.previewed_by END AS admin_id', [RUN_TRANSITIONS.handOver.to]),
        );
      return rows.map((row: { id: number; location_id: number; status: SyncRunStatus; job_id: string | null; admin_id: number | null }) => ({
        runId: row.id,
        locationId: row.location_id,
        status: row.status,
        jobId: row.job_id,
        adminId: row.admin_id,
      }));
    },
  };
}

export type SyncJobsRepository = ReturnType<typeof createSyncJobsRepository>;
