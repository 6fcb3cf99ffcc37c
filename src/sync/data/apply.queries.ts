import type { Knex } from 'knex';

/**
 * The execute step's SQL: writes driven by the saved plan items that check the plan as they go, a fixed
 * number of statements whatever the number of users.
 */

/** Namespace of the per-location advisory lock (the bytes of "SYNC"), so other locks cannot collide. */
const SYNC_LOCK_NAMESPACE = 0x53594e43;

/** Waits until no other sync of the location is executing; released when the transaction ends. */
export async function lockLocation(trx: Knex.Transaction, locationId: number): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(?::int, ?::int)', [SYNC_LOCK_NAMESPACE, locationId]);
}

/**
 * The users the plan touches changed since the preview: an updated or deactivated user was written (or
 * removed, or moved), or a user now exists for an email the plan adds. Thrown by applyPlan, whose
 * transaction then rolls back.
 */
export class StalePlanError extends Error {
  constructor(readonly detail: string) {
    super(`stale plan: ${detail}`);
  }
}

const UNIQUE_EMAIL_PER_LOCATION = 'users_location_email_unique';

const isUniqueEmailViolation = (error: unknown) =>
  typeof error === 'object' &&
  error !== null &&
  (error as { code?: unknown }).code === '23505' &&
  (error as { constraint?: unknown }).constraint === UNIQUE_EMAIL_PER_LOCATION;

export interface PlannedCounts {
  newCount: number;
  updateCount: number;
  linkedCount: number;
  deactivateCount: number;
}

/**
 * Writes the plan, checking as it writes that the preview still holds: each update and deactivation
 * applies only to the user as the preview saw it (same location, same updated_at, which every change
 * moves), and an added email must still be free (the unique index refuses it otherwise). Any shortfall
 * throws StalePlanError. Checking in the writes themselves costs nothing extra, where a separate check
 * read every planned user once more.
 *
 * Never touches password_hash, so a synced user (whatever the remote role) has no password to sign in
 * with. Every user the sync writes gets last_synced_at = now(); every user a sync (not a revert, which
 * reads no remote) found unchanged gets a sighting: last synced is the last run that saw the user.
 */
export async function applyPlan(trx: Knex.Transaction, runId: number, locationId: number, planned: PlannedCounts): Promise<void> {
  let added;
  try {
    added = await trx.raw(
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
  } catch (error) {
    if (isUniqueEmailViolation(error)) throw new StalePlanError('a user now exists for an email the plan adds');
    throw error;
  }
  if (added.rowCount !== planned.newCount) throw new StalePlanError(`${added.rowCount} of ${planned.newCount} users added`);

  // One pass for updates, links and deactivations alike: a deactivation's `after` is {email, is_active: false}
  // plus any other field the remote changed.
  // A key present in `after` means "write this field"; `->` yields SQL NULL only for an absent key.
  const changed = await trx.raw(
    `WITH changed AS (
       UPDATE users u SET
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
       WHERE i.sync_run_id = ?::int AND i.kind IN ('update', 'linked', 'deactivate') AND u.id = i.user_id AND u.location_id = ?::int
         AND u.updated_at IS NOT DISTINCT FROM i.user_updated_at
       RETURNING i.kind
     )
     SELECT count(*) FILTER (WHERE kind = 'update')::int AS updated,
            count(*) FILTER (WHERE kind = 'linked')::int AS linked,
            count(*) FILTER (WHERE kind = 'deactivate')::int AS deactivated
     FROM changed`,
    [runId, locationId],
  );
  const { updated, linked, deactivated } = changed.rows[0] as { updated: number; linked: number; deactivated: number };
  if (updated !== planned.updateCount) throw new StalePlanError(`${updated} of ${planned.updateCount} users as previewed for update`);
  if (linked !== planned.linkedCount) throw new StalePlanError(`${linked} of ${planned.linkedCount} users as previewed for linking`);
  if (deactivated !== planned.deactivateCount) {
    throw new StalePlanError(`${deactivated} of ${planned.deactivateCount} users as previewed for deactivation`);
  }
  await recordSightings(trx, runId, locationId);
}

/** Sightings are kept by blocks of ids (id >> 10): see the migration that made user_sync_sightings. */
const SIGHTING_BLOCK_BITS = 10;

/**
 * Records that the run saw the users it found unchanged (their rows in users stay as they are, updated_at
 * included): the run's sorted id array cut into blocks, one row per block of the location.
 */
async function recordSightings(trx: Knex.Transaction, runId: number, locationId: number): Promise<void> {
  await trx.raw(
    `INSERT INTO user_sync_sightings (location_id, block, seen_at, user_ids)
     SELECT ?::int, x.id >> ${SIGHTING_BLOCK_BITS}, now(), array_agg(x.id ORDER BY x.id)
     FROM sync_runs r CROSS JOIN LATERAL unnest(r.unchanged_user_ids) AS x(id)
     WHERE r.id = ?::int AND r.run_type = 'sync'
     GROUP BY x.id >> ${SIGHTING_BLOCK_BITS}
     ON CONFLICT (location_id, block) DO UPDATE SET seen_at = excluded.seen_at, user_ids = excluded.user_ids`,
    [locationId, runId],
  );
}

/** The users this plan deactivates (missing remotely or inactive there), whose sessions must end. */
export async function deactivatedUserIds(trx: Knex.Transaction, runId: number): Promise<number[]> {
  const rows: Array<{ user_id: number }> = await trx('sync_run_items')
    .select('user_id')
    .where({ sync_run_id: runId })
    .whereNotNull('user_id')
    .andWhere((q) => q.where({ kind: 'deactivate' }).orWhere((u) => u.where({ kind: 'update' }).whereRaw(`(after->>'is_active')::boolean IS FALSE`)));
  return rows.map((r) => r.user_id);
}
