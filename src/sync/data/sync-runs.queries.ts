import type { Knex } from 'knex';
import type { RemoteSource } from '../../remote/remote-users';

/** The canonical lists (see the 2026_11_30_140000 migration); some statuses belong to other features. */
export const SYNC_RUN_STATUSES = [
  'queued',
  'previewing',
  'previewed',
  'no_change',
  'executing',
  'completed',
  'failed',
  'expired',
  'discarded',
  'superseded',
  'cancelled',
] as const;
export type SyncRunStatus = (typeof SYNC_RUN_STATUSES)[number];
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
  previewMs: number | null;
  executeMs: number | null;
  expiresAt: Date | null;
  executedAt: Date | null;
  createdAt: Date;
  /** Where the preview's list came from (null on runs from before this was recorded). */
  source: { url: string; login: string | null; credential: string | null; fetchedAt: Date | null } | null;
  discardedByEmail: string | null;
  discardedAt: Date | null;
  supersededReason: string | null;
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
  reason: string | null;
  excerpt: string | null;
  remotePage: number | null;
}

/** An item as the CSV export reads it: with its user as the database holds it now (null for new and rejected rows). */
export interface ExportedItem extends Pick<SyncRunItem, 'id' | 'kind' | 'email' | 'before' | 'after' | 'reason' | 'excerpt'> {
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
  `(CASE WHEN ${alias}.status = 'previewed' AND ${alias}.expires_at <= now() THEN 'expired' ELSE ${alias}.status END)`;

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
        .insert({ location_id: input.locationId, previewed_by: input.previewedBy, previewed_via: input.via, status: 'previewed' })
        .returning('id');
      return (row as { id: number }).id;
    },

    async finishPreview(trx: Knex.Transaction, runId: number, totals: PreviewTotals): Promise<void> {
      await trx('sync_runs')
        .where({ id: runId })
        .update({
          status: totals.status,
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
          updated_at: trx.fn.now(),
        });
    },

    /** The audit record of a preview that could not fetch the remote list: nothing in it can be executed. */
    async recordFailedPreview(input: {
      locationId: number;
      previewedBy: number | null;
      via: SyncVia;
      error: string;
      previewMs: number;
      source: RemoteSource | null;
    }): Promise<number> {
      const [row] = await db('sync_runs')
        .insert({
          location_id: input.locationId,
          previewed_by: input.previewedBy,
          previewed_via: input.via,
          status: 'failed',
          error: input.error,
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
    async failPreview(runId: number, input: { error: string; previewMs: number; source: RemoteSource | null }): Promise<void> {
      await db('sync_runs')
        .where({ id: runId })
        .whereIn('status', ['queued', 'previewing'])
        .update({
          status: 'failed',
          error: input.error,
          preview_ms: input.previewMs,
          ...sourceColumns(input.source),
          updated_at: db.fn.now(),
        });
    },

    /** Hands a checked preview to the execute job; a second active run of the location is refused by the index. */
    async markExecuting(trx: Knex.Transaction, id: number, executedBy: number | null): Promise<void> {
      await trx('sync_runs').where({ id, status: 'previewed' }).update({ status: 'executing', updated_at: trx.fn.now() });
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
      await trx('sync_runs').where({ id, status: 'previewed' }).update({ status: 'expired', updated_at: trx.fn.now() });
    },

    async markFailed(trx: Knex, id: number, error: string): Promise<void> {
      await trx('sync_runs')
        .where({ id })
        .whereIn('status', ['previewed', 'executing'])
        .update({ status: 'failed', error, updated_at: trx.fn.now() });
    },

    /** Ends an open preview as discarded by the admin; false when it was not open (any more). */
    async markDiscarded(id: number, discardedBy: number): Promise<boolean> {
      const count = await db('sync_runs')
        .where({ id, status: 'previewed' })
        .andWhere('expires_at', '>', db.fn.now())
        .update({ status: 'discarded', discarded_by: discardedBy, discarded_at: db.fn.now(), updated_at: db.fn.now() });
      return count > 0;
    },

    /**
     * Ends previews whose source changed; returns how many. One run: open, or handed to its execute job
     * (which checks again before applying). Every one of a location: the open ones.
     */
    async markSuperseded(trx: Knex, filter: { id: number } | { locationId: number }, reason: string): Promise<number> {
      const query = trx('sync_runs');
      if ('id' in filter) query.where('id', filter.id).whereIn('status', ['previewed', 'executing']);
      // A revert preview reads no remote list: an edit of the location's source leaves it open.
      else
        query.where({ location_id: filter.locationId, status: 'previewed' }).andWhere('expires_at', '>', trx.fn.now()).whereNot('run_type', 'revert');
      return query.update({ status: 'superseded', superseded_reason: reason, superseded_at: trx.fn.now(), updated_at: trx.fn.now() });
    },

    async markCompleted(trx: Knex.Transaction, id: number, input: { executedBy: number | null; executeMs: number; via: SyncVia }): Promise<void> {
      await trx('sync_runs').where({ id }).update({
        status: 'completed',
        executed_by: input.executedBy,
        executed_via: input.via,
        executed_at: trx.fn.now(),
        execute_ms: input.executeMs,
        updated_at: trx.fn.now(),
      });
    },

    /** One page of a run's items of one kind, in plan order, read through the (run, kind, id) index. */
    async listItems(runId: number, kind: SyncItemKind, page: { limit: number; offset: number }, filter: ItemFilter = {}): Promise<SyncRunItem[]> {
      return itemsQuery(db, runId, kind, filter).select(ITEM_COLUMNS).orderBy('id').limit(page.limit).offset(page.offset);
    },

    /** The run's items of one kind after `afterId`, in plan order, a batch at a time (keyset on the (run, kind, id) index). */
    async exportBatch(runId: number, kind: SyncItemKind, afterId: number, limit: number): Promise<ExportedItem[]> {
      const rows: Array<Omit<ExportedItem, 'user'> & { user_name: string | null; user_role: string | null; user_is_active: boolean | null }> =
        await db('sync_run_items as i')
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

    /** How many of the run's deactivations each reason accounts for ("inactive on DEV", "missing from DEV"). */
    async countDeactivationReasons(runId: number): Promise<Array<{ reason: string; count: number }>> {
      const rows: Array<{ reason: string | null; count: string | number }> = await db('sync_run_items')
        .where({ sync_run_id: runId, kind: 'deactivate' })
        .groupBy('reason')
        .orderBy('reason')
        .select('reason')
        .count({ count: '*' });
      return rows.map((row) => ({ reason: row.reason ?? 'missing from the remote list', count: Number(row.count) }));
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
