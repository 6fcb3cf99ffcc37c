import type { RevokeSessions } from '../auth/sessions.queries';
import { endTransactionOnAbort, type Knex } from '../platform/db/knex';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import { AppError, NotFoundError, ValidationError } from '../platform/errors';
import type { Location, LocationsRepository } from '../locations/locations.queries';
import type {
  LocationRunSummary,
  SyncItemKind,
  SyncRun,
  SyncRunItem,
  SyncRunListFilter,
  SyncRunsRepository,
  SyncVia,
  UnchangedUser,
} from './data/sync-runs.queries';
import type { RemoteSource, RemoteUserSource } from '../remote/remote-users';
import { RemoteApiError } from '../remote/remote-api-errors';
import { applyPlan, deactivatedUserIds, lockLocation, StalePlanError } from './data/apply.queries';
import { describeDatabaseFailure, describeFetchFailure, describePreviewFailure } from './failure-messages';
import { LocalUserIndex } from './preview/local-index';
import { PlanPacer } from './preview/plan-pacer';
import { createStaging, PlanWriter, type PlanCounts, type TriagedList } from './data/plan.queries';
import { StagingWriter } from './data/staging-writer';
import type { SyncObserver } from './sync.metrics';
import { acceptConflicts } from './data/revert.queries';
import { withLimitedHeapGrowth } from '../platform/heap-growth';
import { reason, type Reason } from './reasons';

export interface SyncSettings {
  previewTtlMinutes: number;
  guardPercent: number;
  guardMin: number;
}

export const STALE_PLAN_MESSAGE = 'Data changed since the preview; run the preview again.';
export const SECTION_PAGE_SIZE = 100;
/** The sections of a run's page, in page order; linked and unchanged are folded away. */
export const SECTION_KINDS = ['new', 'update', 'deactivate', 'linked', 'conflict', 'rejected'] as const satisfies readonly SyncItemKind[];
/** The fields an Updated row can be filtered by. */
export const CHANGED_FIELDS = ['name', 'role', 'is_active', 'remote_id'] as const;

/** How an execute runs: see `execute`. */
export interface ExecuteMode {
  handOver?: boolean;
  handedOver?: boolean;
  acceptedConflicts?: number[] | 'all';
  /** Aborted when the instance stops: the execute's transaction is ended and rolled back (ExecuteInterruptedError). */
  signal?: AbortSignal;
}

/** The execute's transaction was ended because its instance stops: nothing of it was committed. */
export class ExecuteInterruptedError extends Error {
  constructor(runId: number) {
    super(`The execute of sync run ${runId} was rolled back: its instance stops.`);
    this.name = 'ExecuteInterruptedError';
  }
}

/** What a preview run as a job hands in: its queued run, a way to stop it, and a listener for its figures. */
export interface PreviewOptions {
  runId?: number;
  signal?: AbortSignal;
  onProgress?: (progress: PreviewProgress) => void;
}

export type PreviewProgress =
  { phase: 'fetching'; pagesFetched: number; usersFetched: number; pagesTotal: number | null; usersTotal: number | null } | { phase: 'planning' };

export type ExecuteOutcome =
  | { kind: 'completed'; run: SyncRun; sessionsEnded: number }
  | { kind: 'handed-over'; run: SyncRun }
  | { kind: 'location-busy' }
  | { kind: 'already-completed' }
  | { kind: 'confirmation-required'; run: SyncRun }
  | { kind: 'expired' }
  | { kind: 'stale' }
  | { kind: 'superseded'; reason: Reason }
  | { kind: 'not-executable'; status: SyncRun['status'] };

export type DiscardOutcome = { kind: 'discarded' } | { kind: 'not-open'; status: SyncRun['status'] };

/** What narrows the sections of a run's page: a search per section, and a changed field for Updated. */
export interface SectionFilters {
  search: Partial<Record<SectionKind, string>>;
  field?: (typeof CHANGED_FIELDS)[number];
}

export type SectionKind = SyncItemKind | 'unchanged';

/** The unchanged users of a run, a page at a time (they are ids on the run, not items). */
export interface UnchangedSection {
  total: number;
  page: number;
  pageCount: number;
  pageSize: number;
  users: UnchangedUser[];
}

export interface RunSection {
  kind: SyncItemKind;
  total: number;
  page: number;
  pageCount: number;
  pageSize: number;
  items: SyncRunItem[];
  /** True when a filter narrowed the section (total is then the filtered count). */
  filtered: boolean;
}

/** A job's queued run was cancelled (or taken over) before its job claimed it: there is nothing to record. */
class RunNotWaiting extends ValidationError {}

/** Marks an error raised by the remote source, as opposed to one raised while storing its pages. */
class FetchFailure extends Error {
  constructor(readonly sourceError: unknown) {
    super('remote fetch failed');
  }
}

/**
 * The guard against a broken remote wiping a location: many deactivations at once (users missing from
 * the list or inactive there), an empty list, or a plan that leaves no active user, while local users
 * are active, need the admin to type the location code.
 */
export function guardRequired(
  counts: Pick<PlanCounts, 'deactivateCount' | 'localActiveCount' | 'usableCount' | 'activeAfterCount'>,
  settings: SyncSettings,
): boolean {
  if (counts.localActiveCount > 0 && (counts.usableCount === 0 || counts.activeAfterCount <= 0)) return true;
  return counts.deactivateCount > (counts.localActiveCount * settings.guardPercent) / 100 && counts.deactivateCount > settings.guardMin;
}

/**
 * Sync from Server: a preview stores the complete plan as a sync run; execute applies exactly that plan
 * once, or nothing. Both steps are a bounded number of set-based statements, whatever the user count.
 */
export class UserSyncService {
  constructor(
    private readonly deps: {
      db: Knex;
      remote: RemoteUserSource;
      locations: LocationsRepository;
      syncRuns: SyncRunsRepository;
      ownLocationId: number;
      settings: SyncSettings;
      logger: Logger;
      /** auth's: ends the sessions of the users this run deactivates, in the run's transaction. */
      revokeSessions: RevokeSessions;
      /** Told how long each preview and execute took and how it ended (the metrics). */
      observer?: SyncObserver;
    },
  ) {}

  /**
   * Fetches all remote users of the location and saves the plan, bound to the source it was read from.
   * Whatever goes wrong after the location is accepted (a fetch error, a row the database refuses, a
   * bug) leaves a failed run that says why, and the admin is sent to it. A job passes its queued run.
   */
  async preview(
    locationId: number,
    adminId: number | null,
    via: SyncVia = 'web',
    options: PreviewOptions = {},
  ): Promise<{ runId: number; status: 'previewed' | 'no_change' | 'failed' }> {
    const location = await this.syncableLocation(locationId);
    const started = performance.now();
    let outcome: 'previewed' | 'no_change' | 'failed' | 'error' = 'error';
    try {
      // The local index and the pages in flight are the largest things a Sinkron process holds.
      const result = await withLimitedHeapGrowth(() => this.previewLocation(location, adminId, via, options));
      outcome = result.status;
      return result;
    } finally {
      this.deps.observer?.previewFinished(location.code, outcome, (performance.now() - started) / 1000);
    }
  }

  private async previewLocation(
    location: Location,
    adminId: number | null,
    via: SyncVia,
    options: PreviewOptions,
  ): Promise<{ runId: number; status: 'previewed' | 'no_change' | 'failed' }> {
    const { db, syncRuns, logger, settings } = this.deps;
    const started = performance.now();
    // Where the time went, for the log line: an admin asking why a preview is slow gets the answer.
    const phasesMs = { localIndex: 0, fetchAndStage: 0, finishPlan: 0 };
    let source: RemoteSource | null = null;
    try {
      try {
        source = this.deps.remote.describeSource(location);
      } catch (error) {
        throw new FetchFailure(error);
      }
      const bound = source;
      // REPEATABLE READ: the local index and the plan statements read the users from one snapshot.
      const { runId, counts, remoteCount, guard, status } = await db.transaction(
        async (trx) => {
          const runId = await this.openRun(trx, location.id, adminId, via, options.runId);
          await createStaging(trx);
          const planner = new PlanWriter(trx, runId, location.code);
          const { remoteCount, triaged } = await this.stageRemoteList(trx, { runId, location, planner, phasesMs, options });
          const fetchedAt = new Date();
          options.signal?.throwIfAborted();
          options.onProgress?.({ phase: 'planning' });
          const planStarted = performance.now();
          const counts = await planner.finish(triaged);
          phasesMs.finishPlan = Math.round(performance.now() - planStarted);
          const guard = guardRequired(counts, settings);
          const changes = counts.newCount + counts.updateCount + counts.linkedCount + counts.deactivateCount;
          const status = changes === 0 ? ('no_change' as const) : ('previewed' as const);
          await syncRuns.finishPreview(trx, runId, {
            ...counts,
            status,
            remoteCount,
            guardRequired: guard,
            previewMs: Math.round(performance.now() - started),
            ttlMinutes: settings.previewTtlMinutes,
            source: bound,
            fetchedAt,
          });
          return { runId, counts, remoteCount, guard, status };
        },
        { isolationLevel: 'repeatable read' },
      );
      logger.info(
        {
          runId,
          location: location.code,
          adminId,
          via,
          status,
          source: bound.url,
          remoteCount,
          counts: countsForLog(counts),
          guardRequired: guard,
          durationMs: Math.round(performance.now() - started),
          phasesMs,
        },
        'sync preview saved',
      );
      return { runId, status };
    } catch (error) {
      // A stopped preview is its caller's to record (as cancelled), not a failure of the remote; a queued
      // run cancelled before its job claimed it has nothing to record either.
      options.signal?.throwIfAborted();
      if (error instanceof RunNotWaiting) throw error;
      const fetchFailed = error instanceof FetchFailure;
      const message = fetchFailed ? describeFetchFailure(location.code, error.sourceError) : describePreviewFailure(location.code, error);
      const failure = fetchFailed && error.sourceError instanceof RemoteApiError ? error.sourceError.failure : undefined;
      const previewMs = Math.round(performance.now() - started);
      let runId = options.runId;
      if (runId === undefined) {
        runId = await syncRuns.recordFailedPreview({
          locationId: location.id,
          previewedBy: adminId,
          via,
          error: message,
          failure,
          previewMs,
          source,
        });
      } else {
        await syncRuns.failPreview(runId, { error: message, failure, previewMs, source });
      }
      if (fetchFailed) {
        logger.warn({ runId, location: location.code, adminId, cause: message }, 'sync preview failed: remote list not fetched');
      } else {
        logger.error({ runId, location: location.code, adminId, err: error }, 'sync preview failed: unexpected error');
      }
      return { runId, status: 'failed' };
    }
  }

  /** The run the preview fills in: a new one, or the queued run a job was given (gone when it was cancelled). */
  private async openRun(
    trx: Knex.Transaction,
    locationId: number,
    adminId: number | null,
    via: SyncVia,
    queuedRunId: number | undefined,
  ): Promise<number> {
    if (queuedRunId === undefined) return this.deps.syncRuns.createPreview(trx, { locationId, previewedBy: adminId, via });
    if (!(await this.deps.syncRuns.claimQueuedPreview(trx, queuedRunId))) {
      throw new RunNotWaiting(`Sync run ${queuedRunId} is no longer waiting for its preview.`);
    }
    return queuedRunId;
  }

  /**
   * Applies the saved plan once. Refusals (expired, stale, already done, unconfirmed) are outcomes, not
   * errors; a database failure rolls everything back, marks the run failed and throws.
   * `handOver`: check everything as an execute does, then mark the run executing for a job instead of
   * applying it. `handedOver`: the job's execute of such a run (checked already, so not checked again).
   * `acceptedConflicts`: for a revert, the conflict items the admin ticked to be reverted too ('all' for
   * every one); accepted with the checks, so a handed-over run's job finds them in its plan already.
   */
  async execute(runId: number, adminId: number | null, confirmCode?: string, via: SyncVia = 'web', mode: ExecuteMode = {}): Promise<ExecuteOutcome> {
    const started = performance.now();
    let outcome = 'error';
    try {
      const result = await this.executeRun(runId, adminId, confirmCode, via, mode);
      outcome = result.kind;
      return result;
    } finally {
      this.deps.observer?.executeFinished(outcome, (performance.now() - started) / 1000);
    }
  }

  private async executeRun(
    runId: number,
    adminId: number | null,
    confirmCode: string | undefined,
    via: SyncVia,
    mode: ExecuteMode,
  ): Promise<ExecuteOutcome> {
    const { db, syncRuns, logger } = this.deps;
    const started = performance.now();
    // When the connection dies, knex rejects with the failed ROLLBACK; the statement's own error says more.
    let firstError: unknown;
    let outcome: ExecuteOutcome;
    try {
      mode.signal?.throwIfAborted();
      outcome = await db.transaction(async (trx) => {
        // Not watched past this callback: a COMMIT under way is left to finish.
        const unwatch = mode.signal ? await endTransactionOnAbort(db, trx, mode.signal) : undefined;
        try {
          return await this.executeInTransaction(trx, { runId, adminId, confirmCode, started, via, ...mode });
        } catch (error) {
          firstError = error;
          throw error;
        } finally {
          unwatch?.();
        }
      });
    } catch (caught) {
      if (mode.signal?.aborted) throw new ExecuteInterruptedError(runId);
      const error = firstError ?? caught;
      if (error instanceof AppError) throw error;
      if (error instanceof StalePlanError) return this.refuseStale(runId, adminId, error);
      const cause = describeDatabaseFailure(error);
      try {
        await syncRuns.markFailed(db, runId, `Execution failed and nothing was changed: ${cause}. Run the preview again.`);
      } catch (markError) {
        logger.error({ runId, cause: describeDatabaseFailure(markError) }, 'could not mark the sync run as failed');
      }
      logger.error({ runId, adminId, cause }, 'sync execute failed');
      throw new AppError(`The sync could not be applied and nothing was changed (${cause}). Run the preview again.`, 500, false);
    }
    if (outcome.kind === 'completed') {
      const { run, sessionsEnded } = outcome;
      logger.info(
        {
          runId,
          location: run.locationCode,
          adminId,
          via,
          ...(run.revertsRunId === null ? {} : { revertsRunId: run.revertsRunId, conflictsLeft: run.conflictCount }),
          counts: countsForLog(run),
          sessionsEnded,
          durationMs: Math.round(performance.now() - started),
        },
        'sync executed',
      );
    } else if (outcome.kind === 'handed-over') {
      logger.info({ runId, adminId, location: outcome.run.locationCode }, 'sync execute handed to a job');
    } else {
      const status = outcome.kind === 'not-executable' ? { status: outcome.status } : {};
      logger.info({ runId, adminId, outcome: outcome.kind, ...status }, 'sync execute refused');
    }
    return outcome;
  }

  /** The plan's writes found the users changed and were rolled back: the run fails, the admin previews again. */
  private async refuseStale(runId: number, adminId: number | null, error: StalePlanError): Promise<ExecuteOutcome> {
    await this.deps.syncRuns.markFailed(this.deps.db, runId, STALE_PLAN_MESSAGE);
    this.deps.logger.info({ runId, adminId, outcome: 'stale', detail: error.detail }, 'sync execute refused');
    return { kind: 'stale' };
  }

  /**
   * The execute step on one transaction. The run's row lock makes a concurrent execute of the same run
   * wait and then see it completed; the location's advisory lock keeps two runs of one location apart.
   */
  private async executeInTransaction(
    trx: Knex.Transaction,
    input: {
      runId: number;
      adminId: number | null;
      confirmCode: string | undefined;
      started: number;
      via: SyncVia;
    } & ExecuteMode,
  ): Promise<ExecuteOutcome> {
    const { syncRuns } = this.deps;
    const { runId, adminId, confirmCode, started, via, handedOver = false } = input;
    const locked = await syncRuns.lockForExecute(trx, runId);
    if (!locked) throw new NotFoundError('Sync run not found.');
    if (locked.status === 'completed') return { kind: 'already-completed' };
    if (locked.status !== (handedOver ? 'executing' : 'previewed')) return { kind: 'not-executable', status: locked.status };
    let run = (await syncRuns.findById(runId, trx))!;
    // A drift check is a report: nothing in it is ever applied.
    if (run.runType === 'drift') return { kind: 'not-executable', status: locked.status };
    if (!handedOver && locked.expired) {
      await syncRuns.markExpired(trx, runId);
      return { kind: 'expired' };
    }
    // Checked before the hand-over and again in the job: a location edited in between still supersedes.
    const changedSource = await this.sourceChange(trx, run);
    if (changedSource) {
      await syncRuns.markSuperseded(trx, { id: runId }, changedSource);
      return { kind: 'superseded', reason: changedSource };
    }
    // Exactly as shown (only spaces around it forgiven): typing the code is the pause to read what it names.
    if (!handedOver && run.guardRequired && confirmCode?.trim() !== run.locationCode) {
      return { kind: 'confirmation-required', run };
    }
    const accepted = input.acceptedConflicts ?? [];
    const accepting = run.conflictCount > 0 && (accepted === 'all' || accepted.length > 0) ? accepted : undefined;
    if (input.handOver) return this.handOver(trx, run, adminId, accepting);
    await lockLocation(trx, run.locationId);
    if (accepting) run = await this.acceptConflicts(trx, runId, accepting);
    await applyPlan(trx, runId, run.locationId, run);
    const sessionsEnded = await this.deps.revokeSessions(trx, await deactivatedUserIds(trx, runId));
    await syncRuns.markCompleted(trx, runId, { executedBy: adminId, executeMs: Math.round(performance.now() - started), via });
    return { kind: 'completed', run: (await syncRuns.findById(runId, trx))!, sessionsEnded };
  }

  /**
   * Why the run's preview no longer describes its location's list: the location is gone or inactive, or
   * its URL or API login changed since the preview. Read under a share lock, so an edit waits for the
   * execute. Undefined when the source is the same.
   */
  private async sourceChange(trx: Knex.Transaction, run: SyncRun): Promise<Reason | undefined> {
    const location = await this.deps.locations.findById(run.locationId, trx, { lock: 'share' });
    const code = run.locationCode;
    if (!location) return reason('location_removed', { location: code });
    if (!location.isActive) return reason('location_deactivated', { location: code });
    // A revert is planned from the stored run and the users now, not from the remote: its source is moot.
    if (run.runType === 'revert') return undefined;
    if (!run.source) return reason('source_unrecorded', { location: code });
    if (location.onlineUrl !== run.source.url) {
      return reason('url_changed', { location: code, from: run.source.url, to: location.onlineUrl ?? '' });
    }
    let now: RemoteSource;
    try {
      now = this.deps.remote.describeSource(location);
    } catch {
      return reason('credentials_removed', { location: code });
    }
    if (now.login !== run.source.login || now.credential !== run.source.credential) {
      return reason('login_changed', { location: code, from: run.source.login ?? '', to: now.login });
    }
    return undefined;
  }

  /** Ends an open preview without executing it, recording who discarded it and when. */
  async discard(runId: number, adminId: number): Promise<DiscardOutcome> {
    const { syncRuns, logger } = this.deps;
    const discarded = await syncRuns.markDiscarded(runId, adminId);
    if (discarded) {
      logger.info({ runId, adminId }, 'sync preview discarded');
      return { kind: 'discarded' };
    }
    const run = await syncRuns.findById(runId);
    if (!run) throw new NotFoundError('Sync run not found.');
    return { kind: 'not-open', status: run.status };
  }

  /** Ends the open previews of a location whose URL, credentials or state changed: they describe another source. */
  async supersedeOpenPreviews(locationId: number, why: Reason): Promise<number> {
    const count = await this.deps.syncRuns.markSuperseded(this.deps.db, { locationId }, why);
    if (count > 0) this.deps.logger.info({ locationId, previews: count, reason: why }, 'open sync previews superseded');
    return count;
  }

  /** Marks the checked run executing for its job; another running job of the location makes it wait for the admin. */
  private async handOver(
    trx: Knex.Transaction,
    run: SyncRun,
    adminId: number | null,
    accepting: number[] | 'all' | undefined,
  ): Promise<ExecuteOutcome> {
    try {
      // One savepoint: a run that must wait keeps its conflicts unticked, as a refused execute does.
      run = await trx.transaction(async (savepoint) => {
        const planned = accepting ? await this.acceptConflicts(savepoint, run.id, accepting) : run;
        await this.deps.syncRuns.markExecuting(savepoint, run.id, adminId);
        return planned;
      });
    } catch (error) {
      if ((error as { constraint?: string }).constraint === 'sync_runs_one_active_per_location') return { kind: 'location-busy' };
      throw error;
    }
    return { kind: 'handed-over', run };
  }

  /** Turns a revert's ticked conflicts into plan items; the run as it now reads (its counts moved with them). */
  private async acceptConflicts(trx: Knex.Transaction, runId: number, accepted: number[] | 'all'): Promise<SyncRun> {
    await acceptConflicts(trx, runId, accepted);
    return (await this.deps.syncRuns.findById(runId, trx))!;
  }

  /** The run without its sections. */
  async findRun(runId: number): Promise<SyncRun> {
    const run = await this.deps.syncRuns.findById(runId);
    if (!run) throw new NotFoundError('Sync run not found.');
    return run;
  }

  /** A run (as findRun read it) with one page of each section. */
  async describeRun(
    run: SyncRun,
    pages: Partial<Record<SectionKind, number>> = {},
    filters: SectionFilters = { search: {} },
  ): Promise<{
    run: SyncRun;
    sections: RunSection[];
    unchanged: UnchangedSection & { filtered: boolean };
    deactivationReasons: Array<{ reason: Reason; count: number }>;
  }> {
    const { syncRuns } = this.deps;
    const totals: Record<SectionKind, number> = {
      new: run.newCount,
      update: run.updateCount,
      linked: run.linkedCount,
      deactivate: run.deactivateCount,
      rejected: run.rejectedCount,
      conflict: run.conflictCount,
      unchanged: run.unchangedCount,
    };
    const paging = (kind: SectionKind, total: number) => {
      const pageCount = Math.max(1, Math.ceil(total / SECTION_PAGE_SIZE));
      const page = Math.min(Math.max(1, pages[kind] ?? 1), pageCount);
      return { total, page, pageCount, pageSize: SECTION_PAGE_SIZE, window: { limit: SECTION_PAGE_SIZE, offset: (page - 1) * SECTION_PAGE_SIZE } };
    };
    const filterOf = (kind: SectionKind) => ({ search: filters.search[kind], field: kind === 'update' ? filters.field : undefined });
    const isFiltered = (kind: SectionKind) => Boolean(filters.search[kind] || (kind === 'update' && filters.field));
    const sections = await Promise.all(
      SECTION_KINDS.map(async (kind): Promise<RunSection> => {
        const filtered = isFiltered(kind);
        const total = filtered && totals[kind] > 0 ? await syncRuns.countItems(run.id, kind, filterOf(kind)) : totals[kind];
        const { window, ...section } = paging(kind, total);
        const items = section.total === 0 ? [] : await syncRuns.listItems(run.id, kind, window, filterOf(kind));
        return { kind, ...section, items, filtered };
      }),
    );
    const unchangedFiltered = isFiltered('unchanged');
    const unchangedTotal =
      unchangedFiltered && run.unchangedCount > 0 ? await syncRuns.countUnchangedUsers(run.id, filterOf('unchanged')) : run.unchangedCount;
    const { window, ...unchangedPaging } = paging('unchanged', unchangedTotal);
    const users = unchangedPaging.total === 0 ? [] : await syncRuns.listUnchangedUsers(run.id, window, filterOf('unchanged'));
    const deactivationReasons = run.deactivateCount === 0 ? [] : await syncRuns.countDeactivationReasons(run.id);
    return { run, sections, unchanged: { ...unchangedPaging, users, filtered: unchangedFiltered }, deactivationReasons };
  }

  /** By location id: its last executed sync and its last drift check, for the Locations page. */
  async lastRunsByLocation(): Promise<Map<number, { lastSync?: LocationRunSummary; lastDrift?: LocationRunSummary }>> {
    const byLocation = new Map<number, { lastSync?: LocationRunSummary; lastDrift?: LocationRunSummary }>();
    for (const { locationId, ...run } of await this.deps.syncRuns.latestPerLocation()) {
      const entry = byLocation.get(locationId) ?? {};
      if (run.runType === 'sync') entry.lastSync = run;
      else entry.lastDrift = run;
      byLocation.set(locationId, entry);
    }
    return byLocation;
  }

  async listRuns(filter: SyncRunListFilter) {
    return this.deps.syncRuns.list(filter);
  }

  /** The location, when it can be synced: else a ValidationError that says why not. */
  async syncableLocation(locationId: number): Promise<Location> {
    const location = await this.deps.locations.findById(locationId);
    if (!location) throw new NotFoundError('Location not found.');
    if (location.id === this.deps.ownLocationId) {
      throw new ValidationError(`${location.code} is this instance's own location: its accounts are managed here, not synced.`);
    }
    if (!location.isActive) throw new ValidationError(`${location.code} is inactive: activate it before syncing.`);
    if (!location.onlineUrl) throw new ValidationError(`${location.code} has no online URL to sync from.`);
    return location;
  }

  /**
   * Reads the location's users into the local index, then sorts every remote page through it as the
   * pages arrive, staging only the rows the plan needs and planning them a stretch at a time; any error
   * of the source becomes a FetchFailure. The source fetches pages ahead, so the fetch goes on while the
   * index loads and while the database writes: network, Node and database time overlap, and the pages held
   * stay within the source's memory bound (REMOTE_READ_AHEAD_MB).
   */
  private async stageRemoteList(
    trx: Knex.Transaction,
    input: {
      runId: number;
      location: Location;
      planner: PlanWriter;
      phasesMs: { localIndex: number; fetchAndStage: number };
      options: PreviewOptions;
    },
  ): Promise<{ remoteCount: number; triaged: TriagedList }> {
    const { runId, location, planner, phasesMs, options } = input;
    const abort = new AbortController();
    const signal = options.signal ? AbortSignal.any([abort.signal, options.signal]) : abort.signal;
    const pages = this.deps.remote.fetchUsers(location, { signal })[Symbol.asyncIterator]();
    const nextPage = () =>
      pages.next().then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    const staging = new StagingWriter(trx, runId);
    let received = 0;
    let pagesReceived = 0;
    const pacer = new PlanPacer();
    let finished = false;
    try {
      const started = performance.now();
      // Asked for before the index loads; the source fetches ahead on its own from there, within its
      // memory bound, which counts a page until the next one is asked for: so one is asked for at a time.
      let pending = nextPage();
      const index = await LocalUserIndex.load(trx, location.id);
      phasesMs.localIndex = Math.round(performance.now() - started);
      for (;;) {
        const step = await pending;
        if (!step.ok) {
          finished = true;
          throw new FetchFailure(step.error);
        }
        if (step.result.done) {
          finished = true;
          await staging.write(index.missingActiveUsers());
          await staging.flush();
          phasesMs.fetchAndStage = Math.round(performance.now() - started) - phasesMs.localIndex;
          return {
            remoteCount: received,
            triaged: {
              remoteUserCount: index.remoteUserCount,
              possibleDuplicates: index.possibleDuplicates,
              unchangedUserIds: index.unchangedUserIds(),
              localActiveCount: index.activeCount,
            },
          };
        }
        const page = step.result.value;
        const rows = index.triage(page.users, page.page, received);
        await staging.write(rows, page.rejected);
        received += page.users.length + page.rejected.length;
        pagesReceived += 1;
        options.onProgress?.({
          phase: 'fetching',
          pagesFetched: pagesReceived,
          usersFetched: received,
          pagesTotal: page.of?.pages ?? null,
          usersTotal: page.of?.users ?? null,
        });
        if (pacer.add(rows.length)) {
          await staging.flush();
          await planner.planUpTo(received);
          pacer.planned(received);
        }
        pending = nextPage();
      }
    } finally {
      // The transaction can only roll back once an open COPY is cancelled.
      await staging.abort();
      if (!finished) {
        abort.abort();
        await pages.return?.(undefined).catch(() => undefined);
      }
    }
  }
}

const countsForLog = (c: Pick<PlanCounts, 'newCount' | 'updateCount' | 'deactivateCount' | 'unchangedCount' | 'rejectedCount'>) => ({
  new: c.newCount,
  update: c.updateCount,
  deactivate: c.deactivateCount,
  unchanged: c.unchangedCount,
  rejected: c.rejectedCount,
});
