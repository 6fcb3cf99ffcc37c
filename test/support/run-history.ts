import type { Knex } from '../../src/platform/db/knex';

/** One run a day for a location, shaped like what a sync writes, seeded set-based (generate_series). */
export interface RunHistory {
  locationId: number;
  /** Runs on each day from `fromDay` to `toDay` days ago (inclusive). */
  fromDay: number;
  toDay: number;
  runType: 'sync' | 'drift';
  /** completed: executed (a revertible run when it changed users); expired: a preview never executed. */
  status: 'completed' | 'expired' | 'no_change';
  adminId: number | null;
  /** Per run: the users it lists by kind, and the unchanged users (the id array). */
  items: { new: number; update: number; deactivate: number; rejected: number };
  unchanged: number;
}

/** Inserts the runs and their items in two statements; returns the run ids, oldest first. */
export async function seedRunHistory(db: Knex, h: RunHistory): Promise<number[]> {
  const executed = h.status === 'completed';
  const inserted = await db.raw(
    `INSERT INTO sync_runs (location_id, run_type, status, previewed_by, executed_by, remote_count, local_active_count,
                            new_count, update_count, deactivate_count, unchanged_count, rejected_count,
                            expires_at, executed_at, created_at, updated_at, unchanged_user_ids)
     SELECT :location::int, :runType::text, :status::text, :admin::int, CASE WHEN :executed THEN :admin::int END,
            :remote::int, :localActive::int, :new::int, :update::int, :deactivate::int, :unchanged::int, :rejected::int,
            at + interval '30 minutes', CASE WHEN :executed THEN at + interval '2 minutes' END, at, at + interval '2 minutes',
            CASE WHEN :unchanged::int > 0 THEN ARRAY(SELECT g FROM generate_series(1000, 999 + :unchanged::int) g) END
     FROM generate_series(:fromDay::int, :toDay::int, -1) AS d, LATERAL (SELECT now() - make_interval(days => d) AS at) t
     RETURNING id`,
    {
      location: h.locationId,
      runType: h.runType,
      status: h.status,
      admin: h.adminId,
      executed,
      remote: h.items.new + h.items.update + h.items.rejected + h.unchanged,
      localActive: h.items.update + h.items.deactivate + h.unchanged,
      new: h.items.new,
      update: h.items.update,
      deactivate: h.items.deactivate,
      unchanged: h.unchanged,
      rejected: h.items.rejected,
      fromDay: h.fromDay,
      toDay: h.toDay,
    },
  );
  const ids = (inserted.rows as Array<{ id: number }>).map((row) => row.id);
  await db.raw(
    `INSERT INTO sync_run_items (sync_run_id, kind, user_id, email, before, after, user_updated_at, reason, excerpt, remote_page)
     SELECT r.id, k.kind, CASE WHEN k.kind IN ('update', 'deactivate') THEN 500 + n END, 'user' || n || '@dev.test',
            CASE k.kind WHEN 'update' THEN jsonb_build_object('name', 'Old Name ' || n, 'role', 'vendor')
                        WHEN 'deactivate' THEN jsonb_build_object('is_active', true) END,
            CASE k.kind WHEN 'new' THEN jsonb_build_object('email', 'user' || n || '@dev.test', 'name', 'New Person ' || n, 'role', 'vendor', 'is_active', true, 'remote_id', n::text)
                        WHEN 'update' THEN jsonb_build_object('name', 'New Name ' || n)
                        WHEN 'deactivate' THEN jsonb_build_object('is_active', false) END,
            CASE WHEN k.kind IN ('update', 'deactivate') THEN r.created_at END,
            CASE k.kind WHEN 'deactivate' THEN 'missing from the remote list' WHEN 'rejected' THEN 'invalid email' END,
            CASE k.kind WHEN 'rejected' THEN '{"id":' || n || ',"email":"not an email"}' END,
            CASE WHEN k.kind = 'rejected' THEN 1 END
     FROM sync_runs r
     CROSS JOIN (VALUES ('new', :new::int), ('update', :update::int), ('deactivate', :deactivate::int), ('rejected', :rejected::int)) AS k(kind, rows)
     CROSS JOIN LATERAL generate_series(1, k.rows) AS n
     WHERE r.id = ANY(:ids::int[])`,
    { ...h.items, ids: `{${ids.join(',')}}` },
  );
  return ids;
}
