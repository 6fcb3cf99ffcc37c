import type { Knex } from 'knex';
import type { RemoteSource } from '../../remote/remote-users';
import type { Reason, ReasonCode } from '../reasons';
import type { RemoteFailure, RemoteFailureCode } from '../../remote/remote-failures';
import { EXECUTABLE_STATUSES, RUN_STARTS, RUN_TRANSITIONS, type RunEvent, type RunStatus as SyncRunStatus } from '../run-lifecycle';

/** The lifecycle's statuses, under the names the data layer has always used. */
export { RUN_STATUSES as SYNC_RUN_STATUSES, type RunStatus as SyncRunStatus } from '../run-lifecycle';
/** A sync run is planned to be executed; a drift check is a report that never is; a revert undoes a completed run. */
export type SyncRunType = 'sync' | 'drift' | 'revert';
export type SyncItemKind = 'new' | 'update' | 'linked' | 'deactivate' | 'rejected' | 'conflict';
/** How a step of a run was taken: in the admin pages or with `npm run sync`. */
export type SyncVia = 'web' | 'cli';

export interface SyncRun {
  id: number;
  locationId: number;
  locationCode: string;
  locationName: string;
  status: SyncRunStatus;
  runType: SyncRunType;
  /** For a revert: the run it reverts. */
  revertsRunId: number | null;
  previewedBy: number | null;
  previewedByEmail: string | null;
  previewedVia: SyncVia;
  executedBy: number | null;
  executedByEmail: string | null;
  executedVia: SyncVia | null;
  remoteCount: number;
  localActiveCount: number;
  newCount: number;
  updateCount: number;
  linkedCount: number;
  deactivateCount: number;
  unchangedCount: number;
  rejectedCount: number;
  activeAfterCount: number | null;
  /** For a revert: users changed since the reverted run, left alone unless ticked. */
  conflictCount: number;
  guardRequired: boolean;
  error: string | null;
  /** A remote's failure as a code (remote-failures.ts) and its parameters; null for the other causes, said in `error`. */
  errorCode: RemoteFailureCode | null;
  errorParams: RemoteFailure['params'] | null;
  previewMs: number | null;
  executeMs: number | null;
  expiresAt: Date | null;
  executedAt: Date | null;
  createdAt: Date;
  /** Where the preview's list came from (null on runs from before this was recorded). */
  source: { url: string; login: string | null; credential: string | null; fetchedAt: Date | null } | null;
  discardedByEmail: string | null;
  discardedAt: Date | null;
  /** A reason code (reasons.ts), with its parameters. */
  supersededReason: ReasonCode | null;
  supersededParams: Reason['params'] | null;
  supersededAt: Date | null;
  /** When retention removed the run's per-user items and unchanged ids (its counts stay). */
  detailsPurgedAt: Date | null;
}

export interface SyncRunItem {
  id: number;
  kind: SyncItemKind;
  userId: number | null;
  email: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** A reason code (reasons.ts) with `reasonParams`; a rejected row's is the parser's own words. */
  reason: string | null;
  reasonParams: Reason['params'] | null;
  excerpt: string | null;
  remotePage: number | null;
}

/** An item as the CSV export reads it: with its user as the database holds it now (null for new and rejected rows). */
export interface ExportedItem extends Pick<SyncRunItem, 'id' | 'kind' | 'email' | 'before' | 'after' | 'reason' | 'reasonParams' | 'excerpt'> {
  user: { name: string; role: string | null; isActive: boolean } | null;
}

export interface UnchangedUser {
  id: number;
  email: string;
  name: string;
  role: string | null;
  isActive: boolean;
}

/** A finished preview's figures: the run's own count fields, named as the run names them. */
export interface PreviewTotals extends Pick<
  SyncRun,
  | 'remoteCount'
  | 'localActiveCount'
  | 'newCount'
  | 'updateCount'
  | 'linkedCount'
  | 'deactivateCount'
  | 'unchangedCount'
  | 'rejectedCount'
  | 'guardRequired'
> {
  status: 'previewed' | 'no_change';
  activeAfterCount: number;
  previewMs: number;
  ttlMinutes: number;
  source: RemoteSource;
  fetchedAt: Date;
}

/** The newest executed sync and the newest drift report of a location, for the Locations page. */
export interface LocationRunSummary {
  runId: number;
  runType: 'sync' | 'drift';
  status: SyncRunStatus;
  newCount: number;
  updateCount: number;
  deactivateCount: number;
  guardRequired: boolean;
  at: Date;
}

export interface SyncRunListFilter {
  locationCode?: string;
  status?: SyncRunStatus;
  page: number;
  perPage: number;
}

/**
 * A run's status as every read sees it: a preview past its time is expired whether or not a write has
 * marked it so yet, so that reads need not write (only an execute, which locks the run, records it).
 */
export const effectiveStatusSql = (alias: string) =>
  `(CASE WHEN ${alias}.status = '${RUN_TRANSITIONS.expire.from[0]}' AND ${alias}.expires_at <= now() THEN '${RUN_TRANSITIONS.expire.to}' ELSE ${alias}.status END)`;

/** A run as the runs query reads it: every field of SyncRun, with the four columns of its source flat. */
type SyncRunRecord = Omit<SyncRun, 'source'> & {
  sourceUrl: string | null;
  sourceLogin: string | null;
  sourceCredential: string | null;
  fetchedAt: Date | null;
};

/**
 * Each field of a run and the column it is read from, written once: the compiler holds the list to SyncRun,
 * and the query selects each column under its field's name, so rows need no renaming. Not r.*: the run's
 * unchanged_user_ids can hold a hundred thousand ids; they are read a page at a time.
 */
const RUN_COLUMNS: { [Field in keyof SyncRunRecord]-?: string } = {
  id: 'r.id',
  locationId: 'r.location_id',
  locationCode: 'l.code',
  locationName: 'l.name',
  status: 'r.status',
  runType: 'r.run_type',
  revertsRunId: 'r.reverts_run_id',
  previewedBy: 'r.previewed_by',
  previewedByEmail: 'p.email',
  previewedVia: 'r.previewed_via',
  executedBy: 'r.executed_by',
  executedByEmail: 'e.email',
  executedVia: 'r.executed_via',
  remoteCount: 'r.remote_count',
  localActiveCount: 'r.local_active_count',
  newCount: 'r.new_count',
  updateCount: 'r.update_count',
  linkedCount: 'r.linked_count',
  deactivateCount: 'r.deactivate_count',
  unchangedCount: 'r.unchanged_count',
  rejectedCount: 'r.rejected_count',
  activeAfterCount: 'r.active_after_count',
  conflictCount: 'r.conflict_count',
  guardRequired: 'r.guard_required',
  error: 'r.error',
  errorCode: 'r.error_code',
  errorParams: 'r.error_params',
  previewMs: 'r.preview_ms',
  executeMs: 'r.execute_ms',
  expiresAt: 'r.expires_at',
  executedAt: 'r.executed_at',
  createdAt: 'r.created_at',
  sourceUrl: 'r.source_url',
  sourceLogin: 'r.source_login',
  sourceCredential: 'r.source_credential',
  fetchedAt: 'r.fetched_at',
  discardedByEmail: 'd.email',
  discardedAt: 'r.discarded_at',
  supersededReason: 'r.superseded_reason',
  supersededParams: 'r.superseded_params',
  supersededAt: 'r.superseded_at',
  detailsPurgedAt: 'r.details_purged_at',
};

const toSyncRun = ({ sourceUrl, sourceLogin, sourceCredential, fetchedAt, ...run }: SyncRunRecord): SyncRun => ({
  ...run,
  source: sourceUrl === null ? null : { url: sourceUrl, login: sourceLogin, credential: sourceCredential, fetchedAt },
});

/** Each field of an item and its column, written once, like the run's. */
const ITEM_COLUMNS: { [Field in keyof SyncRunItem]-?: string } = {
  id: 'id',
  kind: 'kind',
  userId: 'user_id',
  email: 'email',
  before: 'before',
  after: 'after',
  reason: 'reason',
  reasonParams: 'reason_params',
  excerpt: 'excerpt',
  remotePage: 'remote_page',
};

/** Narrows a section of a run: by email or name (a substring, any case), and updates by a changed field. */
export interface ItemFilter {
  search?: string;
  field?: string;
}

/** A LIKE pattern matching the text anywhere, its own % _ and \\ taken literally. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, '\\$&')}%`;

function itemsQuery(db: Knex, runId: number, kind: SyncItemKind, filter: ItemFilter) {
  const query = db('sync_run_items').where({ sync_run_id: runId, kind });
  if (filter.search) {
    const pattern = likePattern(filter.search);
    query.andWhere((q) =>
      q
        .where('email', 'ilike', pattern)
        .orWhereRaw("before->>'name' ILIKE ?", [pattern])
        .orWhereRaw("after->>'name' ILIKE ?", [pattern])
        .orWhere((r) => r.where('kind', 'rejected').andWhere('excerpt', 'ilike', pattern)),
    );
  }
  if (filter.field) query.andWhereRaw('(after -> ?::text) IS NOT NULL', [filter.field]);
  return query;
}

/** A sync run with its location and the emails of the admins who previewed and executed it. */
function runQuery(db: Knex) {
  return db('sync_runs as r')
    .join('locations as l', 'l.id', 'r.location_id')
    .leftJoin('users as p', 'p.id', 'r.previewed_by')
    .leftJoin('users as e', 'e.id', 'r.executed_by')
    .leftJoin('users as d', 'd.id', 'r.discarded_by')
    .select({ ...RUN_COLUMNS, status: db.raw(effectiveStatusSql('r')) });
}

/**
 * The one way a run's status changes (see run-lifecycle.ts): the runs `target` names (an id, or a filter)
 * that `event` may happen to get its status, with `columns`; returns how many did. Nothing else writes
 * sync_runs.status.
 */
export async function transition(
  trx: Knex,
  target: number | ((query: Knex.QueryBuilder) => void),
  event: RunEvent,
  columns: Record<string, unknown> = {},
): Promise<number> {
  const { from, to } = RUN_TRANSITIONS[event];
  const query = trx('sync_runs').whereIn('status', from);
  if (typeof target === 'number') query.where('id', target);
  else target(query);
  return query.update({ ...columns, status: to, updated_at: trx.fn.now() });
}

/** A remote's failure as a code and its parameters beside the English of `error` (pages say it in their language). */
const failureColumns = (failure: RemoteFailure | undefined) =>
  failure ? { error_code: failure.code, error_params: JSON.stringify(failure.params) } : { error_code: null, error_params: null };

/** A failed preview keeps the source it tried, when it got as far as knowing it. */
const sourceColumns = (source: RemoteSource | null) => ({
  source_url: source?.url ?? null,
  source_login: source?.login ?? null,
  source_credential: source?.credential ?? null,
});

export function createSyncRunsRepository(db: Knex) {
  return {
    /** Starts a run inside the preview transaction; it becomes visible only with the finished plan. */
    async createPreview(trx: Knex.Transaction, input: { locationId: number; previewedBy: number | null; via: SyncVia }): Promise<number> {
      const [row] = await trx('sync_runs')
        .insert({ location_id: input.locationId, previewed_by: input.previewedBy, previewed_via: input.via, status: RUN_STARTS.openInline })
        .returning('id');
      return (row as { id: number }).id;
    },

    async finishPreview(trx: Knex.Transaction, runId: number, totals: PreviewTotals): Promise<void> {
      await transition(trx, runId, totals.status === 'previewed' ? 'planReady' : 'planEmpty', {
        remote_count: totals.remoteCount,
        local_active_count: totals.localActiveCount,
        new_count: totals.newCount,
        update_count: totals.updateCount,
        linked_count: totals.linkedCount,
        deactivate_count: totals.deactivateCount,
        unchanged_count: totals.unchangedCount,
        rejected_count: totals.rejectedCount,
        active_after_count: totals.activeAfterCount,
        guard_required: totals.guardRequired,
        preview_ms: totals.previewMs,
        source_url: totals.source.url,
        source_login: totals.source.login,
        source_credential: totals.source.credential,
        fetched_at: totals.fetchedAt,
        // A queued run becomes the preview here, with its plan, in the preview's transaction. One with
        // nothing to change has nothing to execute, so it never expires.
        expires_at: totals.status === 'previewed' ? trx.raw('now() + make_interval(mins => ?::int)', [totals.ttlMinutes]) : null,
      });
    },

    /** The audit record of a preview that could not fetch the remote list: nothing in it can be executed. */
    async recordFailedPreview(input: {
      locationId: number;
      previewedBy: number | null;
      via: SyncVia;
      error: string;
      failure?: RemoteFailure;
      previewMs: number;
      source: RemoteSource | null;
    }): Promise<number> {
      const [row] = await db('sync_runs')
        .insert({
          location_id: input.locationId,
          previewed_by: input.previewedBy,
          previewed_via: input.via,
          status: RUN_STARTS.recordFailure,
          error: input.error,
          ...failureColumns(input.failure),
          preview_ms: input.previewMs,
          ...sourceColumns(input.source),
        })
        .returning('id');
      return (row as { id: number }).id;
    },

    /**
     * Takes a queued run for the preview's transaction. The key-share lock, held until the transaction
     * ends, tells other instances the run's worker is alive without blocking its progress writes.
     */
    async claimQueuedPreview(trx: Knex.Transaction, runId: number): Promise<boolean> {
      const result = await trx.raw(`SELECT id FROM sync_runs WHERE id = ?::int AND status = 'previewing' FOR KEY SHARE`, [runId]);
      return result.rows.length === 1;
    },

    /** A queued or running preview that could not fetch the remote list becomes its failed audit record. */
    async failPreview(
      runId: number,
      input: { error: string; failure?: RemoteFailure; previewMs: number; source: RemoteSource | null },
    ): Promise<void> {
      await transition(db, runId, 'failPreview', {
        error: input.error,
        ...failureColumns(input.failure),
        preview_ms: input.previewMs,
        ...sourceColumns(input.source),
      });
    },

    /** Hands a checked preview to the execute job; a second active run of the location is refused by the index. */
    async markExecuting(trx: Knex.Transaction, id: number, executedBy: number | null): Promise<void> {
      await transition(trx, id, 'handOver');
      // Its progress row says it waits for a worker, from the same commit on (a run without one was made inline).
      await trx('sync_run_progress').insert({ sync_run_id: id, phase: 'queued', requested_by: executedBy }).onConflict('sync_run_id').merge({
        phase: 'queued',
        requested_by: executedBy,
        worker: null,
        job_id: null,
        started_at: null,
        heartbeat_at: trx.fn.now(),
        cancel_requested_at: null,
      });
    },

    async findById(id: number, trx: Knex = db): Promise<SyncRun | undefined> {
      const row: SyncRunRecord | undefined = await runQuery(trx).where('r.id', id).first();
      return row && toSyncRun(row);
    },

    /** Locks the run's row until the transaction ends, so one execute at a time sees and changes it. */
    async lockForExecute(trx: Knex.Transaction, id: number): Promise<{ status: SyncRunStatus; expired: boolean } | undefined> {
      const result = await trx.raw(
        `SELECT status, (expires_at IS NULL OR expires_at <= now()) AS expired FROM sync_runs WHERE id = ?::int FOR UPDATE`,
        [id],
      );
      return result.rows[0];
    },

    async markExpired(trx: Knex, id: number): Promise<void> {
      await transition(trx, id, 'expire');
    },

    async markFailed(trx: Knex, id: number, error: string): Promise<void> {
      await transition(trx, id, 'failExecute', { error });
    },

    /** Ends an open preview as discarded by the admin; false when it was not open (any more). */
    async markDiscarded(id: number, discardedBy: number): Promise<boolean> {
      const count = await transition(db, (q) => q.where('id', id).andWhere('expires_at', '>', db.fn.now()), 'discard', {
        discarded_by: discardedBy,
        discarded_at: db.fn.now(),
      });
      return count > 0;
    },

    /**
     * Ends previews whose source changed; returns how many. One run: open, or handed to its execute job
     * (which checks again before applying). Every one of a location: the open ones.
     */
    async markSuperseded(trx: Knex, filter: { id: number } | { locationId: number }, why: Reason): Promise<number> {
      const columns = { superseded_reason: why.code, superseded_params: JSON.stringify(why.params), superseded_at: trx.fn.now() };
      if ('id' in filter) return transition(trx, filter.id, 'supersede', columns);
      // The open previews only (an executing run's job checks its source again); a revert preview reads no
      // remote list, so an edit of the location's source leaves it open.
      return transition(
        trx,
        (q) =>
          q
            .where({ location_id: filter.locationId })
            .whereIn('status', EXECUTABLE_STATUSES)
            .andWhere('expires_at', '>', trx.fn.now())
            .whereNot('run_type', 'revert'),
        'supersede',
        columns,
      );
    },

    async markCompleted(trx: Knex.Transaction, id: number, input: { executedBy: number | null; executeMs: number; via: SyncVia }): Promise<void> {
      await transition(trx, id, 'complete', {
        executed_by: input.executedBy,
        executed_via: input.via,
        executed_at: trx.fn.now(),
        execute_ms: input.executeMs,
      });
    },

    /** One page of a run's items of one kind, in plan order, read through the (run, kind, id) index. */
    async listItems(runId: number, kind: SyncItemKind, page: { limit: number; offset: number }, filter: ItemFilter = {}): Promise<SyncRunItem[]> {
      return itemsQuery(db, runId, kind, filter).select(ITEM_COLUMNS).orderBy('id').limit(page.limit).offset(page.offset);
    },

    /** The run's items of one kind after `afterId`, in plan order, a batch at a time (keyset on the (run, kind, id) index). */
    async exportBatch(runId: number, kind: SyncItemKind, afterId: number, limit: number): Promise<ExportedItem[]> {
      const rows: Array<
        Omit<ExportedItem, 'user' | 'reasonParams'> & {
          reason_params: ExportedItem['reasonParams'];
          user_name: string | null;
          user_role: string | null;
          user_is_active: boolean | null;
        }
      > = await db('sync_run_items as i')
        .leftJoin('users as u', 'u.id', 'i.user_id')
        .where({ 'i.sync_run_id': runId, 'i.kind': kind })
        .andWhere('i.id', '>', afterId)
        .orderBy('i.id')
        .limit(limit)
        .select(
          'i.id',
          'i.kind',
          'i.email',
          'i.before',
          'i.after',
          'i.reason',
          'i.reason_params',
          'i.excerpt',
          'u.name as user_name',
          'u.role as user_role',
          'u.is_active as user_is_active',
        );
      return rows.map((row) => ({
        id: Number(row.id),
        kind: row.kind,
        email: row.email,
        before: row.before,
        after: row.after,
        reason: row.reason,
        reasonParams: row.reason_params,
        excerpt: row.excerpt,
        user: row.user_name === null ? null : { name: row.user_name, role: row.user_role, isActive: row.user_is_active === true },
      }));
    },

    /** How many of a run's items of one kind the filter keeps (unfiltered, the run's counts say it). */
    async countItems(runId: number, kind: SyncItemKind, filter: ItemFilter): Promise<number> {
      const row = await itemsQuery(db, runId, kind, filter).count({ count: '*' }).first();
      return Number(row?.count ?? 0);
    },

    /** A page of the users the run found unchanged, as they are now, in id order; with their count when filtered. */
    async listUnchangedUsers(runId: number, page: { limit: number; offset: number }, filter: ItemFilter = {}): Promise<UnchangedUser[]> {
      const result = filter.search
        ? await db.raw(
            `SELECT u.id, u.email, u.name, u.role, u.is_active
             FROM sync_runs r
             CROSS JOIN LATERAL unnest(r.unchanged_user_ids) AS x(id)
             JOIN users u ON u.id = x.id
             WHERE r.id = ?::int AND (u.email ILIKE ? OR u.name ILIKE ?)
             ORDER BY u.id
             LIMIT ?::int OFFSET ?::int`,
            [runId, likePattern(filter.search), likePattern(filter.search), page.limit, page.offset],
          )
        : await db.raw(
            `SELECT u.id, u.email, u.name, u.role, u.is_active
             FROM sync_runs r
             CROSS JOIN LATERAL unnest(r.unchanged_user_ids[?::int : ?::int]) AS x(id)
             JOIN users u ON u.id = x.id
             WHERE r.id = ?::int
             ORDER BY u.id`,
            [page.offset + 1, page.offset + page.limit, runId],
          );
      return result.rows.map((row: { id: number; email: string; name: string; role: string | null; is_active: boolean }) => ({
        id: row.id,
        email: row.email,
        name: row.name,
        role: row.role,
        isActive: row.is_active,
      }));
    },

    /** How many of the run's deactivations each reason accounts for (inactive on DEV, missing from DEV). */
    async countDeactivationReasons(runId: number): Promise<Array<{ reason: Reason; count: number }>> {
      const result = await db.raw(
        `SELECT reason, reason_params, count(*)::int AS count FROM sync_run_items
         WHERE sync_run_id = ?::int AND kind = 'deactivate'
         GROUP BY reason, reason_params ORDER BY reason`,
        [runId],
      );
      return result.rows.map((row: { reason: ReasonCode | null; reason_params: Reason['params'] | null; count: number }) => ({
        reason: { code: row.reason ?? 'remote_missing', params: row.reason_params ?? {} },
        count: row.count,
      }));
    },

    async countUnchangedUsers(runId: number, filter: ItemFilter): Promise<number> {
      const result = await db.raw(
        `SELECT count(*)::int AS count
         FROM sync_runs r
         CROSS JOIN LATERAL unnest(r.unchanged_user_ids) AS x(id)
         JOIN users u ON u.id = x.id
         WHERE r.id = ?::int AND (u.email ILIKE ? OR u.name ILIKE ?)`,
        [runId, likePattern(filter.search ?? ''), likePattern(filter.search ?? '')],
      );
      return result.rows[0].count as number;
    },

    /** Per location, its newest completed sync and its newest drift report (ready, with nothing to change, expired or superseded). */
    async latestPerLocation(): Promise<Array<LocationRunSummary & { locationId: number }>> {
      const result = await db.raw(
        `SELECT DISTINCT ON (location_id, run_type) id AS "runId", location_id AS "locationId", run_type AS "runType", ${effectiveStatusSql('sync_runs')} AS status,
           new_count AS "newCount", update_count AS "updateCount", deactivate_count AS "deactivateCount",
           guard_required AS "guardRequired", coalesce(executed_at, created_at) AS at
         FROM sync_runs
         WHERE (run_type = 'sync' AND status = 'completed') OR (run_type = 'drift' AND status IN ('previewed', 'no_change', 'expired', 'superseded'))
         ORDER BY location_id, run_type, id DESC`,
      );
      return result.rows as Array<LocationRunSummary & { locationId: number }>;
    },

    /** Newest first; one row more than the page tells whether a next page exists without a COUNT. */
    async list(filter: SyncRunListFilter): Promise<{ runs: SyncRun[]; page: number; hasNext: boolean }> {
      const query = runQuery(db)
        .orderBy('r.id', 'desc')
        .limit(filter.perPage + 1)
        .offset((filter.page - 1) * filter.perPage);
      if (filter.locationCode) query.whereRaw('upper(l.code) = upper(?)', [filter.locationCode]);
      if (filter.status) query.whereRaw(`${effectiveStatusSql('r')} = ?`, [filter.status]);
      const rows: SyncRunRecord[] = await query;
      return {
        runs: rows.slice(0, filter.perPage).map(toSyncRun),
        page: filter.page,
        hasNext: rows.length > filter.perPage,
      };
    },
  };
}

export type SyncRunsRepository = ReturnType<typeof createSyncRunsRepository>;
