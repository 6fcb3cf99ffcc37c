import type { SyncRun } from './data/sync-runs.queries';

/** A run's counts by category, as the CLI and the bench print them. */
export const runCounts = (run: SyncRun) => ({
  remote: run.remoteCount,
  new: run.newCount,
  update: run.updateCount,
  deactivate: run.deactivateCount,
  unchanged: run.unchangedCount,
  rejected: run.rejectedCount,
  // A revert's users changed since the run it reverts, left alone unless ticked.
  ...(run.runType === 'revert' ? { conflict: run.conflictCount } : {}),
});
