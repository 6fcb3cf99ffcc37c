/**
 * The bench's data set, deterministic in the user number i (1..N):
 * i % 100 in 0..4 → new (remote only), 5..9 → changed locally, the rest unchanged;
 * 2% more local users are gone from the remote; another location holds 100,000 users,
 * with the same emails as the synced location's first 100,000 (one email on two locations).
 */
import type { Knex } from 'knex';

export const SYNCED_CODE = 'BENCH';
export const OTHER_CODE = 'OTHER';
export const OTHER_LOCATION_USERS = 100_000;
export const REMOTE_CREDENTIALS = { email: 'api@remote.test', password: 'remote-secret-pw' };
export const BENCH_ADMIN = { email: 'bench-admin@sinkron.test', password: 'bench admin password 0123' };

const UPDATED_AT = '2025-11-08T10:00:00.000000Z';

const remoteRole = (i: number) => (i % 50 === 0 ? 'manager' : 'vendor');

export function remoteUser(i: number) {
  return {
    id: i,
    name: `Bench User ${i}`,
    email: `user${i}@bench.test`,
    role: remoteRole(i),
    is_active: true,
    updated_at: UPDATED_AT,
  };
}

export function remoteUsers(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, k) => remoteUser(k + 1));
}

/** What the change mix should produce for N remote users (a Sinkron remote adds its unchanged API account). */
export function expectedCounts(n: number, remote: RemoteKind = 'laravel') {
  let created = 0;
  let updated = 0;
  for (let i = 1; i <= n; i++) {
    const bucket = i % 100;
    if (bucket < 5) created++;
    else if (bucket < 10) updated++;
  }
  const deactivated = goneCount(n);
  const extra = remote === 'sinkron' ? 1 : 0;
  return { created, updated, deactivated, unchanged: n - created - updated + extra };
}

export const goneCount = (n: number) => Math.floor((n * 2) / 100);

export async function ensureLocations(db: Knex, remoteUrl: string) {
  await db('locations')
    .insert([
      { code: SYNCED_CODE, name: 'Bench synced location', online_url: remoteUrl },
      { code: OTHER_CODE, name: 'Bench other location', online_url: null },
    ])
    .onConflict('code')
    .merge(['online_url']);
  await confirmForCodes(db, [SYNCED_CODE, OTHER_CODE]);
  const rows: { id: number; code: string }[] = await db('locations').whereIn('code', [SYNCED_CODE, OTHER_CODE]);
  const id = (code: string) => rows.find((r) => r.code === code)!.id;
  return { syncedId: id(SYNCED_CODE), otherId: id(OTHER_CODE) };
}

/** The bench's remotes are its own: their URLs count as confirmed by an admin for their codes. */
async function confirmForCodes(db: Knex, codes: string[]): Promise<void> {
  await db('locations')
    .whereIn('code', codes)
    .update({ confirmed_online_url: db.ref('online_url'), confirmed_code: db.ref('code') });
}

/** The location whose server answers with oversized pages (the hostile-remote part). */
export async function ensureHostileLocation(db: Knex, remoteUrl: string): Promise<number> {
  const [row] = await db('locations')
    .insert({ code: 'HOSTILE', name: 'Bench hostile location', online_url: remoteUrl })
    .onConflict('code')
    .merge(['online_url'])
    .returning('id');
  await confirmForCodes(db, ['HOSTILE']);
  return (row as { id: number }).id;
}

/**
 * Empties users and sync runs (keeping admins of other locations) and seeds the local mirror for N remote
 * users, server-side with generate_series: no rows cross the wire.
 */
export async function seedMirror(db: Knex, ids: { syncedId: number; otherId: number }, n: number, remote: RemoteKind = 'laravel'): Promise<void> {
  await db.raw('TRUNCATE sync_run_items, sync_run_progress, sync_runs');
  await db.raw('DELETE FROM users WHERE location_id IN (?, ?)', [ids.syncedId, ids.otherId]);
  await db.raw(
    `INSERT INTO users (location_id, email, name, role, is_active, remote_id, last_synced_at, deactivated_at)
     SELECT ?, 'user' || i || '@bench.test',
            CASE WHEN i % 100 IN (5, 6) THEN 'Old Name ' || i ELSE 'Bench User ' || i END,
            CASE WHEN i % 100 = 7 THEN 'old-role' WHEN i % 50 = 0 THEN 'manager' ELSE 'vendor' END,
            i % 100 <> 8,
            CASE WHEN i % 100 = 9 THEN 'old-' || i ELSE i::text END,
            now() - interval '1 day',
            CASE WHEN i % 100 = 8 THEN now() - interval '1 day' END
     FROM generate_series(1, ?::int) AS i
     WHERE i % 100 >= 5`,
    [ids.syncedId, n],
  );
  await db.raw(
    `INSERT INTO users (location_id, email, name, role, is_active, remote_id, last_synced_at)
     SELECT ?, 'gone' || i || '@bench.test', 'Gone User ' || i, 'vendor', true, 'gone-' || i, now() - interval '1 day'
     FROM generate_series(1, ?::int) AS i`,
    [ids.syncedId, goneCount(n)],
  );
  await db.raw(
    `INSERT INTO users (location_id, email, name, role, is_active, remote_id, last_synced_at)
     SELECT ?, 'user' || i || '@bench.test', 'Other User ' || i, 'vendor', true, i::text, now() - interval '1 day'
     FROM generate_series(1, ?::int) AS i`,
    [ids.otherId, OTHER_LOCATION_USERS],
  );
  if (remote === 'sinkron') {
    // A Sinkron remote lists its API account too; the mirror already knows it, unchanged.
    await db('users').insert({
      location_id: ids.syncedId,
      email: REMOTE_CREDENTIALS.email,
      name: SINKRON_REMOTE_ADMIN_NAME,
      role: 'admin',
      is_active: true,
      remote_id: String(n + 1),
    });
  }
  await db.raw('VACUUM ANALYZE users');
}

export type RemoteKind = 'laravel' | 'sinkron';
export const SINKRON_REMOTE_CODE = 'REMOTE';
const SINKRON_REMOTE_ADMIN_NAME = 'Remote API';

/**
 * The database of a Sinkron instance serving the same N users as the Laravel server (ids 1..N, same
 * fields), plus its API account (id N+1), all in its own location.
 */
export async function seedSinkronRemote(db: Knex, n: number, passwordHash: string): Promise<void> {
  await db('locations').insert({ code: SINKRON_REMOTE_CODE, name: 'Bench remote' }).onConflict('code').ignore();
  const own: { id: number } = await db('locations').where({ code: SINKRON_REMOTE_CODE }).first('id');
  await db.raw('TRUNCATE users CASCADE');
  await db.raw(
    `INSERT INTO users (id, location_id, email, name, role, is_active, updated_at)
     SELECT i, ?, 'user' || i || '@bench.test', 'Bench User ' || i,
            CASE WHEN i % 50 = 0 THEN 'manager' ELSE 'vendor' END, true, '2025-11-08T10:00:00Z'
     FROM generate_series(1, ?::int) AS i`,
    [own.id, n],
  );
  await db('users').insert({
    id: n + 1,
    location_id: own.id,
    email: REMOTE_CREDENTIALS.email,
    name: SINKRON_REMOTE_ADMIN_NAME,
    role: 'admin',
    is_active: true,
    password_hash: passwordHash,
  });
  await db.raw(`SELECT setval(pg_get_serial_sequence('users', 'id'), ?::int)`, [n + 1]);
  await db.raw('VACUUM ANALYZE users');
}

/**
 * Checks that a sync left exactly the state the remote describes: every remote user present and equal,
 * every gone user deactivated, the other location untouched. Returns the problems found.
 */
export async function verifySynced(db: Knex, ids: { syncedId: number; otherId: number }, n: number): Promise<string[]> {
  const problems: string[] = [];
  const [mismatch] = (
    await db.raw(
      `SELECT count(*) FILTER (WHERE u.id IS NULL) AS missing,
              count(*) FILTER (WHERE u.id IS NOT NULL AND (u.name <> 'Bench User ' || i OR u.is_active IS NOT TRUE
                OR u.deactivated_at IS NOT NULL OR u.remote_id IS DISTINCT FROM i::text
                OR u.role IS DISTINCT FROM CASE WHEN i % 50 = 0 THEN 'manager' ELSE 'vendor' END)) AS different
       FROM generate_series(1, ?::int) AS i
       LEFT JOIN users u ON u.location_id = ? AND lower(u.email) = 'user' || i || '@bench.test'`,
      [n, ids.syncedId],
    )
  ).rows as { missing: number; different: number }[];
  if (mismatch!.missing > 0) problems.push(`${mismatch!.missing} remote users missing locally`);
  if (mismatch!.different > 0) problems.push(`${mismatch!.different} remote users differ locally`);
  const [gone] = (
    await db.raw(
      `SELECT count(*) FILTER (WHERE is_active OR deactivated_at IS NULL) AS still_active, count(*) AS total
       FROM users WHERE location_id = ? AND email LIKE 'gone%'`,
      [ids.syncedId],
    )
  ).rows as { still_active: number; total: number }[];
  if (gone!.total !== goneCount(n) || gone!.still_active > 0) {
    problems.push(`gone users: ${gone!.total} of ${goneCount(n)} kept, ${gone!.still_active} still active`);
  }
  const [other] = (
    await db.raw(`SELECT count(*) FILTER (WHERE is_active AND name LIKE 'Other User %') AS intact FROM users WHERE location_id = ?`, [ids.otherId])
  ).rows as { intact: number }[];
  if (other!.intact !== OTHER_LOCATION_USERS) problems.push(`other location: ${other!.intact} of ${OTHER_LOCATION_USERS} intact`);
  const [hashes] = (
    await db.raw(`SELECT count(*) AS n FROM users WHERE location_id IN (?, ?) AND password_hash IS NOT NULL`, [ids.syncedId, ids.otherId])
  ).rows as { n: number }[];
  if (hashes!.n > 0) problems.push(`${hashes!.n} synced users gained a password hash`);
  return problems;
}
