import { Gauge, Histogram, type Registry } from 'prom-client';
import type { SyncMetricsQueries } from './data/sync-metrics.queries';
import type { SyncRunType } from './data/sync-runs.queries';

/** What the sync service reports as it works; the metrics count it, tests may pass nothing. */
export interface SyncObserver {
  previewFinished(location: string, outcome: 'previewed' | 'no_change' | 'failed' | 'error', seconds: number): void;
  executeFinished(outcome: string, seconds: number): void;
}

const RUN_TYPES = ['sync', 'drift', 'revert'] as const satisfies readonly SyncRunType[];
const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * The sync's metrics. Durations are events of this process (histograms); everything about runs is read
 * from the database when Prometheus scrapes, so every instance reports the same truth, and runs made
 * elsewhere (another instance, the CLI, a drift check of run_type 'drift') show up without any coupling.
 */
export function registerSyncMetrics(registry: Registry, queries: SyncMetricsQueries): SyncObserver {
  const previewDuration = new Histogram({
    name: 'sinkron_sync_preview_duration_seconds',
    help: 'Time a sync preview took in this process, by location and outcome (previewed, failed: remote list not fetched, error).',
    labelNames: ['location', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const executeDuration = new Histogram({
    name: 'sinkron_sync_execute_duration_seconds',
    help: 'Time a sync execute took in this process, by outcome (completed, confirmation-required, stale, expired, ...).',
    labelNames: ['outcome'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });

  // One read of the database per scrape, shared by the gauges below: the registry starts every collect at
  // once, so they all find the read in flight; once it settles, the next scrape reads again.
  let snapshot: Promise<Awaited<ReturnType<typeof read>>> | undefined;
  const read = async () => {
    const [runs, times, plans] = await Promise.all([queries.runsByStatus(), queries.syncTimes(), queries.latestPlans()]);
    return { runs, times, plans };
  };
  const current = () => {
    snapshot ??= read().finally(() => {
      snapshot = undefined;
    });
    return snapshot;
  };

  new Gauge({
    name: 'sinkron_sync_runs',
    help: 'Sync runs in the database, by location, run type (sync, drift, revert) and status (completed, failed, expired, ...); failed is there at 0 for every location with an online URL.',
    labelNames: ['location', 'run_type', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      const { runs, times } = await current();
      // The failed series exist at 0 before a location's first failure, so that an alert sees it as a rise.
      for (const t of times) for (const runType of RUN_TYPES) this.set({ location: t.location, run_type: runType, status: 'failed' }, 0);
      for (const r of runs) this.set({ location: r.location, run_type: r.runType, status: r.status }, r.runs);
    },
  });
  new Gauge({
    name: 'sinkron_sync_last_success_timestamp_seconds',
    help: 'When a sync of the location last completed (or found nothing to change), Unix time; 0: never.',
    labelNames: ['location'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of (await current()).times) this.set({ location: t.location }, t.lastSuccess ?? 0);
    },
  });
  new Gauge({
    name: 'sinkron_sync_last_drift_check_timestamp_seconds',
    help: 'When a drift check of the location last produced a plan, Unix time; 0: never.',
    labelNames: ['location'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of (await current()).times) this.set({ location: t.location }, t.lastDriftCheck ?? 0);
    },
  });
  new Gauge({
    name: 'sinkron_sync_latest_plan_rows',
    help: 'Rows by category (new, update, deactivate, unchanged, rejected) of the location\'s newest plan of each run type: run_type="drift" is the drift count.',
    labelNames: ['location', 'run_type', 'category'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const p of (await current()).plans) {
        for (const [category, rows] of Object.entries(p.counts)) this.set({ location: p.location, run_type: p.runType, category }, rows);
      }
    },
  });
  new Gauge({
    name: 'sinkron_sync_latest_plan_guard_required',
    help: "1 when the location's newest plan of the run type tripped the deactivation guard (executing it needs the location code).",
    labelNames: ['location', 'run_type'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const p of (await current()).plans) this.set({ location: p.location, run_type: p.runType }, p.guardRequired ? 1 : 0);
    },
  });

  return {
    previewFinished: (location, outcome, seconds) => previewDuration.observe({ location, outcome }, seconds),
    executeFinished: (outcome, seconds) => executeDuration.observe({ outcome }, seconds),
  };
}
