import os from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../platform/config';
import type { JobQueue, SyncJobData } from '../platform/db/job-queue';
import { settlesBefore } from '../platform/deadline';
import { NotFoundError } from '../platform/errors';
import type { FetchFigures, SyncJobsRepository, SyncPhase, SyncProgress, StalledRun } from './data/sync-jobs.queries';
import type { SyncRunType } from './data/sync-runs.queries';
import { ExecuteInterruptedError, type ExecuteOutcome, type PreviewProgress, type UserSyncService } from './user-sync.service';
import { describeDatabaseFailure } from './failure-messages';

export const CANCELLED_MESSAGE = 'Cancelled by an admin before the preview was ready; nothing was saved.';
const SHUTDOWN = 'instance shutting down';
// Figures of a running job reach the database at most this often (and its heartbeat at least).
const BEAT_MS = 500;

interface RunningJob {
  kind: SyncJobData['kind'];
  abort: AbortController;
  done: Promise<void>;
}

/**
 * Runs Sync from Server as jobs: previews, executes and drift checks are queued, run by any instance's
 * workers, report their progress in the database, can be cancelled, and are taken over when the
 * instance running them dies. The sync itself stays UserSyncService's; this is the wrapper around it.
 */
export class SyncJobService {
  private readonly running = new Map<number, RunningJob>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopping = false;
  readonly worker = `${os.hostname()}:${process.pid}`;

  constructor(
    private readonly deps: {
      userSync: UserSyncService;
      jobs: SyncJobsRepository;
      queue: JobQueue;
      settings: Config['jobs'];
      logger: Logger;
      /** The locations whose scheduled drift check is due, taken for this instance. */
      driftSchedules: { claimDueDriftChecks(): Promise<number[]> };
    },
  ) {}

  /** Starts the queue (and this instance's workers), then looks for runs left behind by a stopped instance. */
  async start(): Promise<void> {
    await this.deps.queue.start({
      runSyncJob: (job) => this.runJob(job),
      onTick: () => this.runDriftChecks(),
    });
    await this.sweep();
    // Checks whose time passed while no instance ran start now rather than at their next time.
    if (this.deps.queue.workers > 0) {
      this.runDriftChecks().catch((error: unknown) => this.deps.logger.warn({ cause: describeDatabaseFailure(error) }, 'drift checks not looked at'));
    }
    const everyMs = Math.max(250, (this.deps.settings.stallSeconds * 1000) / 4);
    this.sweepTimer = setInterval(() => void this.sweep(), everyMs);
  }

  /**
   * Stops this instance's part: its workers take no more jobs, its running previews go back to the queue
   * for another instance at once, and its running executes may finish until `deadline` (a time in ms;
   * none: however long they take). An execute still running then is rolled back and its run goes back to
   * its preview, to be executed again.
   */
  async stop(options: { deadline?: number } = {}): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    await this.sweeping;
    await this.deps.queue.stopWorkers();
    const jobs = [...this.running.entries()];
    for (const [, job] of jobs) if (job.kind === 'preview') job.abort.abort(new Error(SHUTDOWN));
    const executes = jobs.filter(([, job]) => job.kind === 'execute').map(([runId]) => runId);
    if (executes.length > 0) this.deps.logger.info({ runIds: executes }, 'waiting for the running sync executes to finish');
    const allDone = Promise.all(jobs.map(([, job]) => job.done));
    if (options.deadline !== undefined && !(await settlesBefore(allDone, options.deadline))) {
      for (const [runId, job] of this.running) {
        if (job.kind !== 'execute') continue;
        this.deps.logger.warn({ runId }, 'sync execute still running when the stop grace ended: rolling it back');
        job.abort.abort(new Error(SHUTDOWN));
      }
    }
    await allDone;
    await this.deps.queue.stop();
  }

  /** Queues a preview (or a drift check) of the location; when one of its runs is already on, that one. */
  async startPreview(locationId: number, adminId: number | null, runType: SyncRunType = 'sync'): Promise<{ runId: number; alreadyRunning: boolean }> {
    await this.deps.userSync.syncableLocation(locationId);
    const { runId, queued } = await this.deps.jobs.queuePreview({ locationId, previewedBy: adminId, runType });
    if (!queued) return { runId, alreadyRunning: true };
    await this.send({ kind: 'preview', runId, locationId, adminId });
    this.deps.logger.info({ runId, locationId, adminId, runType }, 'sync preview queued');
    return { runId, alreadyRunning: false };
  }

  /**
   * Starts the drift checks that are due: previews saved as reports (run type drift), never executed. A
   * location whose sync is running is checked at its next time.
   */
  async runDriftChecks(): Promise<void> {
    const { driftSchedules, logger } = this.deps;
    for (const locationId of await driftSchedules.claimDueDriftChecks()) {
      try {
        const { runId, alreadyRunning } = await this.startPreview(locationId, null, 'drift');
        if (alreadyRunning) logger.info({ locationId, runningRunId: runId }, 'drift check skipped: a sync of the location is running');
      } catch (error) {
        logger.warn({ locationId, cause: error instanceof Error ? error.message : String(error) }, 'drift check not started');
      }
    }
  }

  /**
   * Checks the execute as the inline one does (single use, expiry, guard), then hands it to a job. A
   * revert's ticked conflicts are accepted with the checks: the job applies the plan as it then reads.
   */
  async startExecute(runId: number, adminId: number, confirmCode?: string, acceptedConflicts: number[] | 'all' = []): Promise<ExecuteOutcome> {
    const outcome = await this.deps.userSync.execute(runId, adminId, confirmCode, 'web', { handOver: true, acceptedConflicts });
    if (outcome.kind === 'handed-over') await this.send({ kind: 'execute', runId, locationId: outcome.run.locationId, adminId });
    return outcome;
  }

  async cancel(runId: number): Promise<'cancelled' | 'requested' | 'not-running'> {
    const result = await this.deps.jobs.requestCancel(runId, CANCELLED_MESSAGE);
    // Here, it stops now; on another instance, at its next heartbeat.
    if (result === 'requested') this.running.get(runId)?.abort.abort(new Error('cancelled'));
    this.deps.logger.info({ runId, result }, 'sync cancel asked');
    return result;
  }

  async progress(runId: number): Promise<SyncProgress> {
    const progress = await this.deps.jobs.read(runId);
    if (!progress) throw new NotFoundError('Sync run not found.');
    return progress;
  }

  private async send(data: SyncJobData): Promise<void> {
    try {
      // The location's earlier jobs are over (this run is its only active one). One still active lost its
      // worker after its run ended; left so, it would hold the location's singleton slot until it expires,
      // and a job waiting behind it at the head of the queue would hold up every location's.
      for (const jobId of await this.deps.jobs.recentJobIds(data.locationId)) {
        await this.deps.queue.fail(jobId, 'a newer job of its location was queued');
      }
      const jobId = await this.deps.queue.send(data);
      await this.deps.jobs.setJobId(data.runId, jobId);
    } catch (error) {
      // The run stays queued; the sweep queues it again once it has waited too long.
      this.deps.logger.error({ runId: data.runId, cause: describeDatabaseFailure(error) }, 'sync job not queued');
    }
  }

  private async runJob(job: SyncJobData & { jobId: string }): Promise<void> {
    if (this.stopping) {
      // Fetched by a worker as the stop began: another instance runs it.
      await this.send(job);
      this.deps.logger.info({ runId: job.runId, kind: job.kind }, 'sync job handed back to the queue: this instance stops');
      return;
    }
    const abort = new AbortController();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.running.set(job.runId, { kind: job.kind, abort, done });
    try {
      if (job.kind === 'preview') await this.runPreview(job, abort);
      else await this.runExecute(job, abort);
    } catch (error) {
      this.deps.logger.error({ runId: job.runId, kind: job.kind, err: error }, 'sync job failed');
    } finally {
      this.running.delete(job.runId);
      finish();
    }
  }

  private async runPreview(job: SyncJobData, abort: AbortController): Promise<void> {
    const { jobs, userSync, logger } = this.deps;
    const started = await jobs.startPreview(job.runId, this.worker);
    if (!started) return;
    const beat = this.heartbeat(job.runId, abort, 'fetching');
    try {
      await userSync.preview(job.locationId, job.adminId, 'web', {
        runId: job.runId,
        signal: abort.signal,
        onProgress: (progress) => beat.report(progress),
      });
    } catch (error) {
      await beat.stop();
      const reason = abort.signal.aborted ? (abort.signal.reason as Error).message : undefined;
      if (reason === SHUTDOWN) {
        await jobs.requeuePreview(job.runId);
        await this.send(job);
        logger.info({ runId: job.runId }, 'sync preview handed back to the queue: this instance stops');
      } else if (reason !== undefined) {
        await jobs.endRun(job.runId, 'cancel', CANCELLED_MESSAGE);
        logger.info({ runId: job.runId }, 'sync preview cancelled');
      } else {
        const cause = error instanceof Error ? error.message : String(error);
        await jobs.endRun(job.runId, 'failPreview', `The preview could not be made: ${describeDatabaseFailure(error)}. Run the preview again.`);
        logger.error({ runId: job.runId, cause }, 'sync preview job failed');
      }
      return;
    }
    await beat.stop();
  }

  private async runExecute(job: SyncJobData, abort: AbortController): Promise<void> {
    await this.deps.jobs.startExecute(job.runId, this.worker);
    const beat = this.heartbeat(job.runId, abort, 'executing');
    // Only a stop aborts an execute (a cancel ends previews only).
    const stop = new AbortController();
    abort.signal.addEventListener('abort', () => {
      if ((abort.signal.reason as Error).message === SHUTDOWN) stop.abort(abort.signal.reason);
    });
    try {
      await this.deps.userSync.execute(job.runId, job.adminId, undefined, 'web', { handedOver: true, signal: stop.signal });
    } catch (error) {
      if (!(error instanceof ExecuteInterruptedError)) throw error;
      await this.deps.jobs.endRun(job.runId, 'interruptExecute', EXECUTE_INTERRUPTED);
      this.deps.logger.info({ runId: job.runId }, 'sync execute rolled back: this instance stops; the run is back to its preview');
    } finally {
      await beat.stop();
    }
  }

  /**
   * Keeps the run's heartbeat going while its job runs, writes the latest figures with it, and aborts
   * the job when an admin cancelled it on any instance.
   */
  private heartbeat(runId: number, abort: AbortController, firstPhase: SyncPhase) {
    let latest: ({ phase?: SyncPhase } & Partial<FetchFigures>) | undefined;
    let writing: Promise<void> = Promise.resolve();
    const write = () => {
      const update = latest ?? {};
      latest = undefined;
      writing = this.deps.jobs
        .beat(runId, update)
        .then(({ cancelRequested }) => {
          if (cancelRequested && !abort.signal.aborted) abort.abort(new Error('cancelled'));
        })
        .catch((error: unknown) => this.deps.logger.warn({ runId, cause: describeDatabaseFailure(error) }, 'sync progress not written'));
    };
    const timer = setInterval(() => {
      void writing.then(write);
    }, BEAT_MS);
    return {
      report(progress: PreviewProgress) {
        // Merged: the last page's figures must reach the database even when planning follows at once.
        latest = { ...latest, ...progress };
        if (progress.phase !== firstPhase) void writing.then(write);
      },
      async stop() {
        clearInterval(timer);
        await writing;
      },
    };
  }

  /**
   * Takes over the runs of instances that died: a preview starts again from scratch (or fails after its
   * attempts), an execute whose transaction never committed goes back to its preview, and a run whose
   * job was lost is queued again. Runs on every instance, at start and then every quarter of the bound.
   */
  async sweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = this.sweepOnce()
      .catch((error: unknown) => this.deps.logger.warn({ cause: describeDatabaseFailure(error) }, 'sync job sweep failed'))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const { jobs, queue, settings, logger } = this.deps;
    const requeued: StalledRun[] = [];
    const stalled = await jobs.recoverStalled(settings.stallSeconds, async (trx, run) => {
      if (run.status === 'executing') {
        await jobs.endRun(run.runId, 'interruptExecute', EXECUTE_INTERRUPTED, trx);
      } else if (run.cancelRequested) {
        await jobs.endRun(run.runId, 'cancel', CANCELLED_MESSAGE, trx);
      } else if (run.attempt < settings.previewAttempts) {
        await jobs.requeuePreview(run.runId, trx);
        requeued.push(run);
      } else {
        const message = `The instance making this preview stopped (attempt ${run.attempt} of ${settings.previewAttempts}); nothing was saved. Run the preview again.`;
        await jobs.endRun(run.runId, 'failPreview', message, trx);
      }
    });
    for (const run of stalled) {
      if (run.jobId) await queue.fail(run.jobId, 'its instance stopped').catch(() => undefined);
      logger.warn({ runId: run.runId, status: run.status, attempt: run.attempt }, 'sync job taken over: its instance stopped');
    }
    for (const run of requeued) await this.send({ kind: 'preview', runId: run.runId, locationId: run.locationId, adminId: null });
    for (const run of await jobs.listWaiting(settings.stallSeconds)) {
      if (run.jobId && (await queue.isPending(run.jobId))) continue;
      logger.warn({ runId: run.runId }, 'sync job lost: queued again');
      await this.send({
        kind: run.status === 'executing' ? 'execute' : 'preview',
        runId: run.runId,
        locationId: run.locationId,
        adminId: run.adminId,
      });
    }
  }
}

export const EXECUTE_INTERRUPTED =
  'The instance executing this sync stopped before its transaction committed: no user was changed. You can execute this preview again.';
