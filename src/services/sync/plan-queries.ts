import type { Knex } from 'knex';
import type { RemoteUserPage } from '../remote-users';

/**
 * The preview's SQL, in the order the preview runs it on one transaction: stage the remote list in a
 * temporary table page by page, then compute the whole plan with a few set-based statements against
 * the users table's (location_id, lower(email)) index. Nothing here reads users into memory.
 */

export interface PlanCounts {
  newCount: number;
  updateCount: number;
  deactivateCount: number;
  unchangedCount: number;
  rejectedCount: number;
  /** Usable remote users after removing duplicates. */
  usableCount: number;
  localActiveCount: number;
}

// knex types array bindings without nulls; node-pg sends null elements as SQL NULL, which we want.
const nullableText = (values: Array<string | null>) => values as string[];

const rowCount = (result: { rowCount?: number | null }) => result.rowCount ?? 0;

export async function createStaging(trx: Knex.Transaction): Promise<void> {
  await trx.raw(`
    CREATE TEMP TABLE sync_staging (
      email text NOT NULL,
      name text NOT NULL,
      remote_id text,
      role text,
      is_active boolean NOT NULL,
      page integer NOT NULL,
      position integer NOT NULL
    ) ON COMMIT DROP`);
}

/** Stores one remote page: its users in the staging table, its rejected rows as plan items. */
export async function stagePage(
  trx: Knex.Transaction,
  runId: number,
  page: RemoteUserPage,
  firstPosition: number,
): Promise<void> {
  const { users, rejected } = page;
  if (users.length > 0) {
    await trx.raw(
      `INSERT INTO sync_staging (email, name, remote_id, role, is_active, page, position)
       SELECT lower(btrim(email)), name, remote_id, role, is_active, ?::int, position
       FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::boolean[], ?::int[])
         AS r(email, name, remote_id, role, is_active, position)`,
      [
        page.page,
        users.map((u) => u.email),
        users.map((u) => u.name),
        nullableText(users.map((u) => u.remoteId)),
        nullableText(users.map((u) => u.role)),
        users.map((u) => u.isActive),
        users.map((_, i) => firstPosition + i),
      ],
    );
  }
  if (rejected.length > 0) {
    await trx.raw(
      `INSERT INTO sync_run_items (sync_run_id, kind, email, reason, excerpt, remote_page)
       SELECT ?::int, 'rejected', email, reason, excerpt, page
       FROM unnest(?::text[], ?::text[], ?::text[], ?::int[]) AS r(email, reason, excerpt, page)`,
      [
        runId,
        nullableText(rejected.map((r) => r.email)),
        rejected.map((r) => r.reason),
        rejected.map((r) => r.excerpt),
        rejected.map((r) => r.page),
      ],
    );
  }
}

/**
 * Computes the plan from the staged list and saves it as items: duplicates rejected, then new, update
 * and deactivate items; unchanged users are only counted.
 */
export async function planChanges(trx: Knex.Transaction, runId: number, locationId: number): Promise<PlanCounts> {
  // An email twice in the remote list cannot say which row is right: reject every copy, keep the local user.
  await trx.raw(
    `WITH removed AS (
       DELETE FROM sync_staging
       WHERE email IN (SELECT email FROM sync_staging GROUP BY email HAVING count(*) > 1)
       RETURNING *
     )
     INSERT INTO sync_run_items (sync_run_id, kind, email, reason, excerpt, remote_page)
     SELECT ?::int, 'rejected', email,
            'email appears ' || count(*) OVER (PARTITION BY email) || ' times in the remote list',
            jsonb_build_object('id', remote_id, 'email', email, 'name', name, 'role', role, 'is_active', is_active)::text,
            page
     FROM removed
     ORDER BY position`,
    [runId],
  );
  // Temporary tables are never analysed automatically; without statistics the joins below plan badly.
  await trx.raw('ANALYZE sync_staging');

  const usable = await trx.raw('SELECT count(*)::int AS n FROM sync_staging');
  const usableCount: number = usable.rows[0].n;

  const added = await trx.raw(
    `INSERT INTO sync_run_items (sync_run_id, kind, email, after, remote_page)
     SELECT ?::int, 'new', s.email,
            jsonb_build_object('email', s.email, 'name', s.name, 'role', s.role, 'is_active', s.is_active,
                               'remote_id', s.remote_id),
            s.page
     FROM sync_staging s
     WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.location_id = ?::int AND lower(u.email) = s.email)
     ORDER BY s.position`,
    [runId, locationId],
  );

  const updated = await trx.raw(
    `INSERT INTO sync_run_items (sync_run_id, kind, user_id, email, before, after, user_updated_at, remote_page)
     SELECT ?::int, 'update', u.id, u.email,
            jsonb_build_object('email', u.email)
              || CASE WHEN u.name IS DISTINCT FROM s.name THEN jsonb_build_object('name', u.name) ELSE '{}' END
              || CASE WHEN u.role IS DISTINCT FROM s.role THEN jsonb_build_object('role', u.role) ELSE '{}' END
              || CASE WHEN u.is_active <> s.is_active THEN jsonb_build_object('is_active', u.is_active) ELSE '{}' END
              || CASE WHEN u.remote_id IS DISTINCT FROM s.remote_id THEN jsonb_build_object('remote_id', u.remote_id) ELSE '{}' END,
            jsonb_build_object('email', u.email)
              || CASE WHEN u.name IS DISTINCT FROM s.name THEN jsonb_build_object('name', s.name) ELSE '{}' END
              || CASE WHEN u.role IS DISTINCT FROM s.role THEN jsonb_build_object('role', s.role) ELSE '{}' END
              || CASE WHEN u.is_active <> s.is_active THEN jsonb_build_object('is_active', s.is_active) ELSE '{}' END
              || CASE WHEN u.remote_id IS DISTINCT FROM s.remote_id THEN jsonb_build_object('remote_id', s.remote_id) ELSE '{}' END
              || CASE WHEN s.is_active AND NOT u.is_active THEN '{"reactivated": true}'::jsonb ELSE '{}' END,
            u.updated_at, s.page
     FROM sync_staging s
     JOIN users u ON u.location_id = ?::int AND lower(u.email) = s.email
     WHERE u.name IS DISTINCT FROM s.name
        OR u.role IS DISTINCT FROM s.role
        OR u.is_active <> s.is_active
        OR u.remote_id IS DISTINCT FROM s.remote_id
     ORDER BY s.position`,
    [runId, locationId],
  );

  // Missing remotely → deactivate, unless a rejected row names the email: a broken row is not a departure.
  const deactivated = await trx.raw(
    `INSERT INTO sync_run_items (sync_run_id, kind, user_id, email, before, after, user_updated_at)
     SELECT ?::int, 'deactivate', u.id, u.email,
            jsonb_build_object('email', u.email, 'name', u.name, 'is_active', true),
            jsonb_build_object('email', u.email, 'is_active', false),
            u.updated_at
     FROM users u
     WHERE u.location_id = ?::int AND u.is_active
       AND NOT EXISTS (SELECT 1 FROM sync_staging s WHERE s.email = lower(u.email))
       AND NOT EXISTS (
         SELECT 1 FROM sync_run_items r
         WHERE r.sync_run_id = ?::int AND r.kind = 'rejected' AND r.email = lower(u.email))
     ORDER BY u.id`,
    [runId, locationId, runId],
  );

  const counts = await trx.raw(
    `SELECT (SELECT count(*) FROM sync_run_items WHERE sync_run_id = ?::int AND kind = 'rejected')::int AS rejected,
            (SELECT count(*) FROM users WHERE location_id = ?::int AND is_active)::int AS local_active`,
    [runId, locationId],
  );
  const newCount = rowCount(added);
  const updateCount = rowCount(updated);
  return {
    newCount,
    updateCount,
    deactivateCount: rowCount(deactivated),
    unchangedCount: usableCount - newCount - updateCount,
    rejectedCount: counts.rows[0].rejected,
    usableCount,
    localActiveCount: counts.rows[0].local_active,
  };
}
