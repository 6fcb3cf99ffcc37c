import type { Knex } from 'knex';
import { RUN_STARTS } from '../run-lifecycle';
import { effectiveStatusSql, type SyncVia } from './sync-runs.queries';

/**
 * A revert's SQL. A revert is a run like any other: its plan is update and deactivate items in
 * sync_run_items, which the execute step applies with the same statements as a sync's plan (applyPlan).
 * The plan is built by one INSERT … SELECT from the reverted run's items joined with the users as they
 * are now, whatever the number of users.
 */

/** The item kinds of a run that changed users, and so have something to revert. */
export const CHANGE_KINDS = ['new', 'update', 'linked', 'deactivate'];
/** The fields a sync writes; a revert writes them back and compares nothing else. */
const SYNCED_FIELDS = ['name', 'role', 'is_active', 'remote_id'];

const sqlList = (values: string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * SQL for the jsonb object of the synced fields of `from` for which `has(field)` holds. Plain operators
 * per row: expanding each item's JSON with jsonb_each cost about as much as the rest of the plan.
 */
const pickSynced = (from: string, has: (field: string) => string) =>
  SYNCED_FIELDS.map((f) => `CASE WHEN ${has(f)} THEN jsonb_build_object('${f}', ${from} -> '${f}') ELSE '{}' END`).join(' || ');
/** `json ? 'field'`, with the question mark escaped from knex's bindings. */
const hasKey = (json: string) => (field: string) => `${json} \\? '${field}'`;

/** What decides whether a run can be reverted. */
export interface RevertSource {
  id: number;
  status: string;
  runType: string;
  locationId: number;
  executedAt: Date | null;
  /** Users the run changed, from its counts. */
  changedCount: number;
  /** Of those, the items still stored: the plan a revert is built from. */
  keptItemCount: number;
  /** The reverts of this run, newest first. */
  reverts: Array<{ id: number; status: string }>;
}

export async function readRevertSource(db: Knex, runId: number): Promise<RevertSource | undefined> {
  const result = await db.raw(
    `SELECT r.id, ${effectiveStatusSql('r')} AS status, r.run_type, r.location_id, r.executed_at,
            (r.new_count + r.update_count + r.deactivate_count + r.linked_count)::int AS changed_count,
            (SELECT count(*) FROM sync_run_items i WHERE i.sync_run_id = r.id AND i.kind IN (${sqlList(CHANGE_KINDS)}))::int AS kept_item_count,
            (SELECT coalesce(jsonb_agg(jsonb_build_object('id', x.id, 'status', ${effectiveStatusSql('x')}) ORDER BY x.id DESC), '[]')
             FROM sync_runs x WHERE x.reverts_run_id = r.id) AS reverts
     FROM sync_runs r
     WHERE r.id = ?::int`,
    [runId],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    status: row.status,
    runType: row.run_type,
    locationId: row.location_id,
    executedAt: row.executed_at,
    changedCount: row.changed_count,
    keptItemCount: row.kept_item_count,
    reverts: row.reverts,
  };
}

/** The revert's run, in the preview's transaction: it becomes visible only with its finished plan. */
export async function createRevertRun(trx: Knex.Transaction, input: { source: RevertSource; previewedBy: number; via: SyncVia }): Promise<number> {
  const [row] = await trx('sync_runs')
    .insert({
      location_id: input.source.locationId,
      previewed_by: input.previewedBy,
      previewed_via: input.via,
      status: RUN_STARTS.openInline,
      run_type: 'revert',
      reverts_run_id: input.source.id,
    })
    .returning('id');
  return (row as { id: number }).id;
}

export interface RevertPlanCounts {
  updateCount: number;
  deactivateCount: number;
  conflictCount: number;
  /** Conflicts that, ticked, would deactivate their user: the guard counts them too. */
  deactivatingConflictCount: number;
  /** Users the reverted run changed that already hold the values a revert would write. */
  unchangedCount: number;
  localActiveCount: number;
}

/**
 * Plans the revert of `source` into run `revertRunId`, in one statement:
 * - a user the run added is deactivated (never deleted), a user it updated gets its before-values back,
 *   a user it deactivated is reactivated;
 * - a user changed after the run (updated_at after its execution, or a synced field no longer what the run
 *   wrote), gone, or moved to another location is a 'conflict' item instead: `before` holds its values
 *   now, `after` what the revert would write, `excerpt` what the run wrote; only a ticked one is applied;
 * - a user who already holds the values to write back is only counted (and listed as unchanged).
 * Every item records the user's updated_at, so execute's stale check covers the revert as it covers a sync.
 */
export async function planRevert(trx: Knex.Transaction, input: { revertRunId: number; source: RevertSource }): Promise<RevertPlanCounts> {
  const { revertRunId, source } = input;
  const result = await trx.raw(
    `WITH source AS MATERIALIZED (
       SELECT i.id AS item_id, i.email AS item_email, i.kind AS item_kind,
              -- What the run wrote, in the synced fields.
              '{}'::jsonb || ${pickSynced('i.after', hasKey('i.after'))} AS wrote,
              -- What the revert writes: an added user is deactivated; otherwise each written field gets its value before the run.
              CASE WHEN i.kind = 'new' THEN '{"is_active": false}'::jsonb
                   ELSE '{}'::jsonb || ${pickSynced('i.before', (f) => `${hasKey('i.after')(f)} AND ${hasKey('i.before')(f)}`)}
              END AS target,
              u.id AS user_id, u.email, u.name, u.location_id, u.updated_at,
              jsonb_build_object('name', u.name, 'role', u.role, 'is_active', u.is_active, 'remote_id', u.remote_id) AS now
       FROM sync_run_items i
       -- An added user's item has no user id: the user is found by its email in the run's location (one
       -- index lookup, users_location_email_unique); every other item names its user.
       LEFT JOIN LATERAL (
         SELECT * FROM users WHERE id = i.user_id
         UNION ALL
         SELECT * FROM users WHERE i.user_id IS NULL AND location_id = ?::int AND lower(email) = lower(i.email)
       ) u ON true
       WHERE i.sync_run_id = ?::int AND i.kind IN (${sqlList(CHANGE_KINDS)})
     ),
     planned AS MATERIALIZED (
       SELECT s.*,
              CASE
                WHEN s.user_id IS NULL OR s.location_id <> ?::int
                     -- Compared in SQL: a Date in JavaScript would drop the microseconds.
                     OR s.updated_at > (SELECT executed_at FROM sync_runs WHERE id = ?::int)
                     -- Containment: every field the run wrote still holds that value (null included).
                     OR NOT s.wrote <@ s.now
                  THEN 'conflict'
                WHEN s.target <@ s.now THEN NULL
                WHEN s.target = '{"is_active": false}'::jsonb THEN 'deactivate'
                ELSE 'update'
              END AS kind,
              -- Only a user still in the location can be written: execute checks it like any plan.
              s.user_id IS NOT NULL AND s.location_id = ?::int AS writable
       FROM source s
     ),
     items AS (
       INSERT INTO sync_run_items (sync_run_id, kind, user_id, email, before, after, user_updated_at, reason, reason_params, excerpt)
       SELECT ?::int, p.kind,
              CASE WHEN p.writable THEN p.user_id END,
              coalesce(p.email, p.item_email),
              CASE
                WHEN p.user_id IS NULL THEN NULL
                WHEN p.kind = 'deactivate' THEN jsonb_build_object('email', p.email, 'name', p.name, 'is_active', p.now -> 'is_active')
                ELSE jsonb_build_object('email', p.email)
                     || ${pickSynced('p.now', (f) => `(${hasKey('p.target')(f)} OR ${hasKey('p.wrote')(f)})`)}
              END,
              jsonb_build_object('email', coalesce(p.email, p.item_email)) || p.target
                || CASE WHEN (p.target ->> 'is_active')::boolean AND NOT (p.now ->> 'is_active')::boolean
                        THEN '{"reactivated": true}'::jsonb ELSE '{}' END,
              p.updated_at,
              -- Reason codes (reasons.ts): where a sync's deactivation names its remote, a revert's names the run.
              CASE WHEN p.kind = 'deactivate' THEN
                CASE WHEN p.item_kind = 'new' THEN 'revert_added' ELSE 'revert_reactivated' END
              WHEN p.kind = 'conflict' THEN
                CASE WHEN p.user_id IS NULL THEN 'conflict_gone' WHEN NOT p.writable THEN 'conflict_moved' ELSE 'conflict_changed' END
              END,
              CASE WHEN p.kind = 'deactivate' THEN jsonb_build_object('run', ?::int)
                   WHEN p.kind = 'conflict' AND p.user_id IS NOT NULL AND p.writable THEN
                     jsonb_build_object('run', ?::int, 'changedAt', to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC')
              END,
              CASE WHEN p.kind = 'conflict' THEN p.wrote::text END
       FROM planned p
       WHERE p.kind IS NOT NULL
       ORDER BY p.item_id
       RETURNING kind, after
     ),
     unchanged AS (
       UPDATE sync_runs SET unchanged_user_ids = (
         SELECT coalesce(array_agg(user_id ORDER BY user_id), '{}') FROM planned WHERE kind IS NULL
       )
       WHERE id = ?::int
     )
     SELECT count(*) FILTER (WHERE kind = 'update')::int AS update_count,
            count(*) FILTER (WHERE kind = 'deactivate')::int AS deactivate_count,
            count(*) FILTER (WHERE kind = 'conflict')::int AS conflict_count,
            count(*) FILTER (WHERE kind = 'conflict' AND after - 'email' = '{"is_active": false}'::jsonb)::int AS deactivating_conflict_count,
            (SELECT count(*) FROM planned WHERE kind IS NULL)::int AS unchanged_count,
            (SELECT count(*) FROM users WHERE location_id = ?::int AND is_active)::int AS local_active_count
     FROM items`,
    [
      source.locationId,
      source.id,
      source.locationId,
      source.id,
      source.locationId,
      revertRunId,
      source.id,
      source.id,
      revertRunId,
      source.locationId,
    ],
  );
  const row = result.rows[0];
  return {
    updateCount: row.update_count,
    deactivateCount: row.deactivate_count,
    conflictCount: row.conflict_count,
    deactivatingConflictCount: row.deactivating_conflict_count,
    unchangedCount: row.unchanged_count,
    localActiveCount: row.local_active_count,
  };
}

export async function finishRevertRun(
  trx: Knex.Transaction,
  runId: number,
  input: RevertPlanCounts & { guardRequired: boolean; previewMs: number; ttlMinutes: number },
): Promise<void> {
  await trx('sync_runs')
    .where({ id: runId })
    .update({
      local_active_count: input.localActiveCount,
      update_count: input.updateCount,
      deactivate_count: input.deactivateCount,
      conflict_count: input.conflictCount,
      unchanged_count: input.unchangedCount,
      guard_required: input.guardRequired,
      preview_ms: input.previewMs,
      expires_at: trx.raw('now() + make_interval(mins => ?::int)', [input.ttlMinutes]),
      updated_at: trx.fn.now(),
    });
}

/**
 * Turns the conflicts the admin ticked into the plan items they stand for, in the execute's transaction
 * (so a refused or failed execute leaves them conflicts), and moves the run's counts with them: applyPlan
 * then writes them with the rest and checks them against the users as the revert preview saw them.
 * Conflicts of users gone or moved cannot be ticked (they have no user id). 'all' accepts every conflict.
 */
export async function acceptConflicts(
  trx: Knex.Transaction,
  runId: number,
  itemIds: number[] | 'all',
): Promise<{ update: number; deactivate: number }> {
  const result = await trx.raw(
    `WITH accepted AS (
       UPDATE sync_run_items
       SET kind = CASE WHEN after - 'email' - 'reactivated' = '{"is_active": false}'::jsonb THEN 'deactivate' ELSE 'update' END,
           reason_params = coalesce(reason_params, '{}') || '{"accepted": true}'
       WHERE sync_run_id = ?::int AND kind = 'conflict' AND user_id IS NOT NULL AND (?::boolean OR id = ANY(?::bigint[]))
       RETURNING kind
     ),
     counted AS (
       SELECT count(*) FILTER (WHERE kind = 'update')::int AS update,
              count(*) FILTER (WHERE kind = 'deactivate')::int AS deactivate
       FROM accepted
     ),
     run AS (
       UPDATE sync_runs r
       SET update_count = r.update_count + c.update,
           deactivate_count = r.deactivate_count + c.deactivate,
           conflict_count = r.conflict_count - c.update - c.deactivate
       FROM counted c
       WHERE r.id = ?::int
     )
     SELECT * FROM counted`,
    [runId, itemIds === 'all', itemIds === 'all' ? [] : itemIds, runId],
  );
  return result.rows[0];
}
