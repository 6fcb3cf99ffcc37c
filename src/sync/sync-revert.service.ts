import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import type { Knex } from '../platform/db/knex';
import { NotFoundError } from '../platform/errors';
import { createRevertRun, finishRevertRun, planRevert, readRevertSource, type RevertSource } from './data/revert.queries';
import type { SyncVia } from './data/sync-runs.queries';
import { guardRequired, type SyncSettings } from './user-sync.service';

/** Whether a run can be reverted, and its links to the runs that revert it. */
export interface RevertStatus {
  revertable: boolean;
  /** Why not, for the run's page (null when revertable, or when nothing needs saying: a preview, a failure). */
  reason: string | null;
  /** The completed revert of this run, if any. */
  revertedBy: number | null;
  /** A revert preview of this run still waiting to be executed. */
  pendingRevert: number | null;
}

export type RevertPreviewOutcome = { kind: 'previewed'; runId: number } | { kind: 'refused'; reason: string };

/**
 * Reverting a completed run: a preview that plans the way back as a run of its own (run_type 'revert'),
 * which the admin reviews, and executes through the sync's own execute step (the guard, the stale check,
 * one transaction, the audit trail). Builds nothing but the plan; writes no user.
 */
export class SyncRevertService {
  constructor(private readonly deps: { db: Knex; settings: SyncSettings; logger: Logger }) {}

  async status(runId: number): Promise<RevertStatus> {
    const source = await readRevertSource(this.deps.db, runId);
    if (!source) throw new NotFoundError('Sync run not found.');
    return describe(source);
  }

  /** Plans the revert of a completed run as a new preview, or says why it cannot be reverted. */
  async preview(runId: number, adminId: number, via: SyncVia = 'web'): Promise<RevertPreviewOutcome> {
    const { db, settings, logger } = this.deps;
    const started = performance.now();
    const planned = await db.transaction(async (trx) => {
      // Read in the transaction: two admins asking at once each get a preview; the second to execute is stale.
      const source = await readRevertSource(trx, runId);
      if (!source) throw new NotFoundError('Sync run not found.');
      const { revertable, reason } = describe(source);
      if (!revertable) return { refused: true as const, reason: reason ?? 'This run cannot be reverted.' };
      const revertRunId = await createRevertRun(trx, { source, previewedBy: adminId, via });
      const counts = await planRevert(trx, { revertRunId, source });
      // A revert reads no remote list, so only its deactivations count (ticked conflicts included), and
      // whether they leave anyone active (reactivations not counted: the guard errs towards asking).
      const deactivateCount = counts.deactivateCount + counts.deactivatingConflictCount;
      const guard = guardRequired(
        { deactivateCount, localActiveCount: counts.localActiveCount, usableCount: 1, activeAfterCount: counts.localActiveCount - deactivateCount },
        settings,
      );
      await finishRevertRun(trx, revertRunId, {
        ...counts,
        guardRequired: guard,
        previewMs: Math.round(performance.now() - started),
        ttlMinutes: settings.previewTtlMinutes,
      });
      return { refused: false as const, revertRunId, counts, guard };
    });
    if (planned.refused) {
      logger.info({ runId, adminId, reason: planned.reason }, 'sync revert refused');
      return { kind: 'refused', reason: planned.reason };
    }
    const { revertRunId, counts, guard } = planned;
    logger.info(
      {
        runId: revertRunId,
        revertsRunId: runId,
        adminId,
        via,
        counts: { update: counts.updateCount, deactivate: counts.deactivateCount, conflict: counts.conflictCount, unchanged: counts.unchangedCount },
        guardRequired: guard,
        durationMs: Math.round(performance.now() - started),
      },
      'sync revert previewed',
    );
    return { kind: 'previewed', runId: revertRunId };
  }
}

/**
 * A run can be reverted when it completed, changed users, nobody reverted it yet, and its items are still
 * kept: every change its counts record has its item (with the values before and after) in sync_run_items.
 * Items go only with their run (or a purge of old runs); a run without them cannot say what to write back.
 */
function describe(source: RevertSource): RevertStatus {
  const revertedBy = source.reverts.find((r) => r.status === 'completed')?.id ?? null;
  const pendingRevert = source.reverts.find((r) => r.status === 'previewed')?.id ?? null;
  const links = { revertedBy, pendingRevert };
  if (source.status !== 'completed' || source.executedAt === null) return { revertable: false, reason: null, ...links };
  if (revertedBy !== null) {
    return { revertable: false, reason: `This sync was reverted by #${revertedBy}; revert #${revertedBy} to apply it again.`, ...links };
  }
  if (source.changedCount === 0) return { revertable: false, reason: 'This sync changed no user: there is nothing to revert.', ...links };
  if (source.keptItemCount < source.changedCount) {
    return {
      revertable: false,
      reason:
        `This sync cannot be reverted: its plan is no longer kept (${source.keptItemCount} of ${source.changedCount} changes stored), ` +
        'so the values to write back are unknown.',
      ...links,
    };
  }
  return { revertable: true, reason: null, ...links };
}
