import type { Knex } from 'knex';

/**
 * The execute step's SQL: checks and writes driven by the saved plan items, a fixed number of
 * statements whatever the number of users.
 */

/** Namespace of the per-location advisory lock (the bytes of "SYNC"), so other locks cannot collide. */
const SYNC_LOCK_NAMESPACE = 0x53594e43;

/** Waits until no other sync of the location is executing; released when the transaction ends. */
export async function lockLocation(trx: Knex.Transaction, locationId: number): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(?::int, ?::int)', [SYNC_LOCK_NAMESPACE, locationId]);
}

/**
 * True when the users the plan touches changed since the preview: an updated or deactivated user was
 * written (or removed, or moved), or a user now exists for an email the plan adds.
 */
export async function planIsStale(trx: Knex.Transaction, runId: number, locationId: number): Promise<boolean> {
  const result = await trx.raw(
    `SELECT EXISTS (
       SELECT 1 FROM sync_run_items i
       LEFT JOIN users u ON u.id = i.user_id
       WHERE i.sync_run_id = ?::int AND i.kind IN ('update', 'deactivate')
         AND (u.id IS NULL OR u.location_id <> ?::int OR u.updated_at IS DISTINCT FROM i.user_updated_at)
     ) OR EXISTS (
       SELECT 1 FROM sync_run_items i
       JOIN users u ON u.location_id = ?::int AND lower(u.email) = i.email
       WHERE i.sync_run_id = ?::int AND i.kind = 'new'
     ) AS stale`,
    [runId, locationId, locationId, runId],
  );
  return result.rows[0].stale === true;
}

export interface AppliedCounts {
  added: number;
  updated: number;
  deactivated: number;
}

/**
 * Writes the plan. Never touches password_hash, so a synced user (whatever the remote role) has no
 * password to sign in with. Every user the sync writes gets last_synced_at = now().
 */
export async function applyPlan(trx: Knex.Transaction, runId: number, locationId: number): Promise<AppliedCounts> {
  const added = await trx.raw(
    `INSERT INTO users (location_id, email, name, role, is_active, remote_id, last_synced_at, deactivated_at,
                        created_at, updated_at)
     SELECT ?::int, i.email, i.after->>'name', i.after->>'role', (i.after->>'is_active')::boolean,
            i.after->>'remote_id', now(),
            CASE WHEN (i.after->>'is_active')::boolean THEN NULL ELSE now() END,
            now(), now()
     FROM sync_run_items i
     WHERE i.sync_run_id = ?::int AND i.kind = 'new'
     ORDER BY i.id`,
    [locationId, runId],
  );

  // A key present in `after` means "write this field"; `->` yields SQL NULL only for an absent key.
  const updated = await trx.raw(
    `UPDATE users u SET
       name = CASE WHEN (i.after -> 'name') IS NOT NULL THEN i.after->>'name' ELSE u.name END,
       role = CASE WHEN (i.after -> 'role') IS NOT NULL THEN i.after->>'role' ELSE u.role END,
       remote_id = CASE WHEN (i.after -> 'remote_id') IS NOT NULL THEN i.after->>'remote_id' ELSE u.remote_id END,
       is_active = COALESCE((i.after->>'is_active')::boolean, u.is_active),
       deactivated_at = CASE (i.after->>'is_active')::boolean
                          WHEN true THEN NULL
                          WHEN false THEN now()
                          ELSE u.deactivated_at END,
       last_synced_at = now(),
       updated_at = now()
     FROM sync_run_items i
     WHERE i.sync_run_id = ?::int AND i.kind = 'update' AND u.id = i.user_id AND u.location_id = ?::int`,
    [runId, locationId],
  );

  const deactivated = await trx.raw(
    `UPDATE users u SET is_active = false, deactivated_at = now(), last_synced_at = now(), updated_at = now()
     FROM sync_run_items i
     WHERE i.sync_run_id = ?::int AND i.kind = 'deactivate' AND u.id = i.user_id AND u.location_id = ?::int`,
    [runId, locationId],
  );

  return { added: added.rowCount ?? 0, updated: updated.rowCount ?? 0, deactivated: deactivated.rowCount ?? 0 };
}

/** Ends the browser sessions of every user this plan deactivates (missing remotely or inactive there). */
export async function endSessionsOfDeactivated(trx: Knex.Transaction, runId: number): Promise<number> {
  const result = await trx.raw(
    `DELETE FROM session
     WHERE sess->>'userId' IN (
         SELECT user_id::text FROM sync_run_items
         WHERE sync_run_id = ?::int
           AND (kind = 'deactivate' OR (kind = 'update' AND (after->>'is_active')::boolean IS FALSE)))`,
    [runId],
  );
  return result.rowCount ?? 0;
}
