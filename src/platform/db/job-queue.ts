import PgBoss from 'pg-boss';
import type { Knex } from 'knex';
import type { Logger } from 'pino';

/** pg-boss's own tables live in this schema of Sinkron's database. */
export const JOB_SCHEMA = 'pgboss';
const SYNC_QUEUE = 'sinkron-sync';
const TICK_QUEUE = 'sinkron-drift-tick';
// pg-boss's cron runs at most once a minute: every minute, the tick looks at each location's schedule.
const TICK_CRON = '* * * * *';
const POLLING_SECONDS = 1;

export interface SyncJobData {
  kind: 'preview' | 'execute';
  runId: number;
  locationId: number;
  /** The admin who asked (the execute records who executed). */
  adminId: number | null;
}

export interface JobQueueOptions {
  db: Knex;
  logger: Logger;
  /** Jobs this instance runs at the same time; 0: it only queues them. */
  workers: number;
  /** Longest a job may stay active before pg-boss fails it (a live job always ends sooner). */
  expireInSeconds: number;
  /**
   * false: pg-boss only checks that its schema is installed and current (`npm run migrate` installs it,
   * as the owner role), and never runs DDL at start.
   */
  migrate: boolean;
}

export interface JobHandlers {
  runSyncJob(job: SyncJobData & { jobId: string }): Promise<void>;
  onTick(): Promise<void>;
}

/**
 * pg-boss on Sinkron's own connection pool (its statements go through knex's pool, so an instance has one
 * pool). Only pg-boss's schema is touched here.
 */
function knexAdapter(db: Knex): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[]) {
      const connection = await db.client.acquireConnection();
      try {
        return await connection.query(text, values);
      } catch (error) {
        // pg-boss's schema set-up runs BEGIN … COMMIT in one text: never pool a connection left in it.
        await connection.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        await db.client.releaseConnection(connection);
      }
    },
  };
}

/** A scheduled job's queue: one queued job at a time, whatever the instances sending it. */
const SCHEDULED_POLICY = 'short';

async function createQueues(boss: PgBoss): Promise<void> {
  await boss.createQueue(SYNC_QUEUE, { name: SYNC_QUEUE, policy: 'singleton' });
  await boss.createQueue(TICK_QUEUE, { name: TICK_QUEUE, policy: 'short' });
}

/**
 * The job engine of sync runs: one queue, singleton per location (pg-boss activates one job per key at
 * a time, across instances), and a drift tick every minute.
 */
export class JobQueue {
  private readonly boss: PgBoss;
  private readonly workerIds: string[] = [];
  private started = false;

  constructor(private readonly options: JobQueueOptions) {
    this.boss = new PgBoss({
      db: knexAdapter(options.db),
      schema: JOB_SCHEMA,
      retryLimit: 0,
      expireInSeconds: options.expireInSeconds,
      // The sync runs are the record; finished jobs are kept a day for troubleshooting.
      deleteAfterDays: 1,
      migrate: options.migrate,
    });
    this.boss.on('error', (error) => options.logger.warn({ err: error }, 'job queue error'));
  }

  /**
   * Creates (or upgrades) pg-boss's schema and Sinkron's queues without starting anything, as `start`
   * would on first use: a queue is a table of its own, so creating one is DDL for the owner role.
   */
  /**
   * The owner's `npm run migrate`: the schema, and every queue, those of `schedule` (`scheduled`) too,
   * as creating a queue is DDL the runtime role may not run.
   */
  static async install(db: Knex, scheduled: string[] = []): Promise<void> {
    const boss = new PgBoss({ db: knexAdapter(db), schema: JOB_SCHEMA, supervise: false, schedule: false });
    await boss.start();
    try {
      await createQueues(boss);
      for (const name of scheduled) await boss.createQueue(name, { name, policy: SCHEDULED_POLICY });
    } finally {
      await boss.stop({ close: false, graceful: false });
    }
  }

  get workers(): number {
    return this.options.workers;
  }

  /** Whether the queue is started (and not stopped): a worker can take jobs, a page can queue them. */
  get isStarted(): boolean {
    return this.started;
  }

  async start(handlers: JobHandlers): Promise<void> {
    try {
      await this.boss.start();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (this.options.migrate || !/not installed|requires migrations/.test(reason)) throw error;
      throw new Error(
        `The job queue's tables are missing or out of date (${reason}): run \`npm run migrate\` (with the database owner role) first.`,
        {
          cause: error,
        },
      );
    }
    this.started = true;
    // Already there when installed: then an insert that does nothing, not DDL.
    await createQueues(this.boss);
    await this.boss.schedule(TICK_QUEUE, TICK_CRON);
    for (let i = 0; i < this.options.workers; i += 1) {
      this.workerIds.push(
        await this.boss.work<SyncJobData>(SYNC_QUEUE, { pollingIntervalSeconds: POLLING_SECONDS, batchSize: 1 }, async ([job]) => {
          if (job) await handlers.runSyncJob({ ...job.data, jobId: job.id });
        }),
      );
    }
    if (this.options.workers > 0) {
      await this.boss.work(TICK_QUEUE, { pollingIntervalSeconds: POLLING_SECONDS }, () => handlers.onTick());
    }
  }

  /**
   * A job pg-boss starts on a cron schedule (`tz`: an IANA zone): pg-boss sends one job per time across
   * instances, and a worker of an instance with WORKERS > 0 runs it. Called after `start`.
   */
  async schedule(name: string, cron: string, tz: string, handler: () => Promise<void>): Promise<void> {
    // Creating a queue is DDL, which a runtime role may not do: `npm run migrate` made the known ones.
    if (!(await this.boss.getQueue(name))) await this.boss.createQueue(name, { name, policy: SCHEDULED_POLICY });
    await this.boss.schedule(name, cron, undefined, { tz });
    if (this.options.workers > 0) {
      await this.boss.work(name, { pollingIntervalSeconds: POLLING_SECONDS }, () => handler());
    }
  }

  /** Sends a scheduled job now, as its schedule would: the tests' way to a job that runs once a day. */
  async runNow(name: string): Promise<void> {
    await this.boss.send(name, {});
  }

  /** Queues a job for the run; the location is the singleton key, so its jobs never run side by side. */
  async send(data: SyncJobData): Promise<string> {
    const id = await this.boss.send(SYNC_QUEUE, data, { singletonKey: `location-${data.locationId}` });
    if (!id) throw new Error(`the job queue refused the ${data.kind} job of sync run ${data.runId}`);
    // A worker of this instance starts it now rather than at its next poll.
    for (const workerId of this.workerIds) this.boss.notifyWorker(workerId);
    return id;
  }

  /** Ends a job whose worker died, so that its location's singleton slot is free at once. */
  async fail(jobId: string, message: string): Promise<void> {
    await this.boss.fail(SYNC_QUEUE, jobId, { message });
  }

  /** Whether the job is still waiting for a worker or running (false when it is unknown or over). */
  async isPending(jobId: string): Promise<boolean> {
    const job = await this.boss.getJobById(SYNC_QUEUE, jobId);
    return job !== null && ['created', 'retry', 'active'].includes(job.state);
  }

  /** This instance's workers take no more jobs; the ones they run go on (the sync job service waits for them). */
  async stopWorkers(): Promise<void> {
    if (!this.started) return;
    await this.boss.offWork(SYNC_QUEUE);
    await this.boss.offWork(TICK_QUEUE);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    // Not graceful: the sync job service has already waited for this instance's jobs (or handed them back).
    await this.boss.stop({ close: false, graceful: false, wait: true });
  }
}
