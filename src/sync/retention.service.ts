import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ExpiredSessionsQueries } from '../auth/sessions.queries';
import type { Config } from '../platform/config';
import type { JobQueue } from '../platform/db/job-queue';
import type { RetentionQueries, RunDetailsCounts } from './data/retention.queries';

export const RETENTION_QUEUE = 'sinkron-retention';
/** Daily, at night in DISPLAY_TIMEZONE. */
const RETENTION_CRON = '30 2 * * *';

/** Runs per marking statement, and items or sessions per DELETE: each statement's locks and WAL stay small. */
const BATCH = { runs: 100, items: 5000, sessions: 5000 };

export interface RetentionReport extends RunDetailsCounts {
  retentionDays: number;
  /** Runs created before this lost (or would lose) their details. */
  cutoff: Date;
  /** Older runs that keep their details because they can still be reverted. */
  keptRevertible: number;
  /** Expired sessions removed (or that would be). */
  sessions: number;
}

/**
 * Audit retention (AUDIT_RETENTION_DAYS): runs older than that lose their per-user items and unchanged-id
 * arrays and keep their summary rows; a run that may still be reverted keeps everything. Expired sessions
 * go at the same time. pg-boss prunes its own tables (JobQueue's deleteAfterDays).
 */
export class RetentionService {
  constructor(
    private readonly deps: {
      queries: RetentionQueries;
      sessions: ExpiredSessionsQueries;
      settings: Config['retention'];
      queue: JobQueue;
      /** The zone the daily time is read in. */
      timeZone: string;
      logger: Logger;
      batch?: Partial<typeof BATCH>;
    },
  ) {}

  /** Schedules the daily purge (after the queue started). */
  async start(): Promise<void> {
    await this.deps.queue.schedule(RETENTION_QUEUE, RETENTION_CRON, this.deps.timeZone, async () => {
      await this.purge('schedule');
    });
  }

  /** What a purge now would remove; changes nothing. */
  async plan(): Promise<RetentionReport> {
    const { queries, sessions, settings } = this.deps;
    const cutoff = await queries.cutoff(settings.auditDays);
    const [runs, expired] = await Promise.all([queries.countPurgeable(cutoff), sessions.count()]);
    return { retentionDays: settings.auditDays, cutoff, ...runs, sessions: expired };
  }

  /** Removes what `plan` counts, a batch at a time, and logs one line with the counts. */
  async purge(via: 'schedule' | 'cli'): Promise<RetentionReport> {
    const { queries, sessions, settings, logger } = this.deps;
    const batch = { ...BATCH, ...this.deps.batch };
    const started = performance.now();
    const cutoff = await queries.cutoff(settings.auditDays);
    const removed = { runs: 0, items: 0, arrays: 0, sessions: 0 };
    for (;;) {
      const marked = await queries.markPurged(cutoff, batch.runs);
      if (marked.runIds.length === 0) break;
      removed.runs += marked.runIds.length;
      removed.arrays += marked.arrays;
      for (;;) {
        const deleted = await queries.deleteItems(marked.runIds, batch.items);
        removed.items += deleted;
        if (deleted < batch.items) break;
      }
    }
    for (;;) {
      const deleted = await sessions.deleteBatch(batch.sessions);
      removed.sessions += deleted;
      if (deleted < batch.sessions) break;
    }
    const report: RetentionReport = { retentionDays: settings.auditDays, cutoff, ...removed, keptRevertible: await queries.countKept(cutoff) };
    logger.info({ via, ...report, durationMs: Math.round(performance.now() - started) }, 'audit retention purge');
    return report;
  }
}
