/**
 * User Management at a large table: seeds `total` users over ten locations (each location's users
 * contiguous in id order, as syncs insert them), then times pages of the real app over HTTP.
 */
import type { Knex } from 'knex';
import { createUsersRepository, type UserListFilter } from '../src/users/users.queries';

const PAGE_LOCATIONS = 10;
const pageLocationCode = (k: number) => `LOC${String(k).padStart(2, '0')}`;

export async function seedUsersPage(db: Knex, total: number): Promise<{ lastLocationCode: string; lastLocationFirstEmail: string }> {
  await db.raw('TRUNCATE sync_run_items, sync_run_progress, sync_runs');
  await db.raw(`DELETE FROM users WHERE password_hash IS NULL`);
  const codes = Array.from({ length: PAGE_LOCATIONS }, (_, k) => pageLocationCode(k + 1));
  await db('locations')
    .insert(codes.map((code) => ({ code, name: `Location ${code}` })))
    .onConflict('code')
    .ignore();
  const perLocation = Math.ceil(total / PAGE_LOCATIONS);
  await db.raw(
    `INSERT INTO users (location_id, email, name, role, is_active, remote_id, last_synced_at)
     SELECT l.id, 'user' || i || '@page.test', 'Page User ' || i, CASE WHEN i % 50 = 0 THEN 'manager' ELSE 'vendor' END,
            i % 20 <> 0, i::text, now()
     FROM generate_series(1, ?::int) AS i
     JOIN locations l ON l.code = 'LOC' || lpad((((i - 1) / ?::int) + 1)::text, 2, '0')`,
    [total, perLocation],
  );
  await db.raw('VACUUM ANALYZE users');
  await db.raw('CHECKPOINT');
  return { lastLocationCode: codes[codes.length - 1]!, lastLocationFirstEmail: `user${(PAGE_LOCATIONS - 1) * perLocation + 1}@page.test` };
}

/**
 * Sync history's pages on the same database: 500 small runs of the first location, and its newest run, which
 * found every one of the users unchanged (the run page reads it without its million ids). Returns that run's id.
 */
export async function seedRunPages(db: Knex): Promise<number> {
  const first = pageLocationCode(1);
  await db.raw(
    `INSERT INTO sync_runs (location_id, status, run_type, remote_count, unchanged_count, executed_at)
     SELECT l.id, 'completed', 'sync', 10, 10, now() FROM generate_series(1, 500), locations l WHERE l.code = ?`,
    [first],
  );
  const result = await db.raw(
    `INSERT INTO sync_runs (location_id, status, run_type, remote_count, unchanged_count, unchanged_user_ids, executed_at)
     SELECT l.id, 'completed', 'sync', count(*), count(*), array_agg(u.id ORDER BY u.id), now()
     FROM users u CROSS JOIN locations l WHERE l.code = ? AND u.password_hash IS NULL GROUP BY l.id
     RETURNING id`,
    [first],
  );
  await db.raw('VACUUM ANALYZE sync_runs');
  return (result.rows[0] as { id: number }).id;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface Session {
  cookie: string;
}

/** The cookies an answer sets, as a Cookie header sends them back (`name=value; …`), or undefined for none. */
function cookiesFrom(response: Response, name?: RegExp): string | undefined {
  const pairs = response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .filter((pair) => !name || name.test(pair.split('=')[0]!));
  return pairs.length > 0 ? pairs.join('; ') : undefined;
}

/** Signs in as a browser would: the login form's CSRF token and the cookie it plants, then the session cookie. */
export async function signIn(baseUrl: string, credentials: { email: string; password: string }): Promise<Session> {
  const loginPage = await fetch(new URL('/login', baseUrl));
  const html = await loginPage.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  const planted = cookiesFrom(loginPage);
  if (!csrf || !planted) throw new Error('the login page has no CSRF token or no cookie for it');
  const response = await fetch(new URL('/login', baseUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: planted },
    body: new URLSearchParams({ ...credentials, _csrf: csrf }).toString(),
  });
  const cookie = cookiesFrom(response, /\.sid$/);
  if (response.status !== 303 || !cookie) throw new Error(`sign-in failed with ${response.status}`);
  return { cookie };
}

export interface PageTiming {
  label: string;
  path: string;
  medianMs: number;
  p95Ms: number;
  rows: number;
}

/** Times `samples` sequential requests after a short warm-up; each answer must be a 200 holding `mustContain`. */
export async function timePage(
  baseUrl: string,
  session: Session,
  page: { label: string; path: string; mustContain: string },
  samples: number,
): Promise<PageTiming> {
  const times: number[] = [];
  let rows = 0;
  for (let k = 0; k < samples + 3; k++) {
    const started = performance.now();
    const response = await fetch(new URL(page.path, baseUrl), { headers: { Cookie: session.cookie }, redirect: 'manual' });
    const html = await response.text();
    const ms = performance.now() - started;
    if (response.status !== 200 || !html.includes(page.mustContain)) {
      throw new Error(`${page.path} answered ${response.status} without "${page.mustContain}"`);
    }
    rows = (html.match(/<tr\b/g)?.length ?? 1) - 1;
    if (k >= 3) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return {
    label: page.label,
    path: page.path,
    medianMs: median(times),
    p95Ms: times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)]!,
    rows,
  };
}

/** EXPLAIN ANALYZE of the query the users page runs for a filter (captured from the repository itself). */
export async function explainUsersList(db: Knex, filter: Omit<UserListFilter, 'page' | 'perPage'>): Promise<string> {
  let captured: { sql: string; bindings: readonly Knex.RawBinding[] } | undefined;
  const capture = (query: { sql: string; bindings: readonly Knex.RawBinding[] }) => {
    if (query.sql.includes('"users"')) captured ??= query;
  };
  db.on('query', capture);
  try {
    await createUsersRepository(db).list({ ...filter, page: 1, perPage: 50 });
  } finally {
    db.removeListener('query', capture);
  }
  if (!captured) return '(no query captured)';
  // The captured SQL is numbered for node-pg ($1, $2, … in order); knex.raw wants `?`.
  const sql = captured.sql.replace(/\$\d+/g, '?');
  const plan = await db.raw(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, captured.bindings as Knex.RawBinding[]);
  return (plan.rows as Array<Record<string, string>>).map((row) => row['QUERY PLAN']).join('\n');
}
