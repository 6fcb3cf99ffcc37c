import type { Knex } from 'knex';
import { expect } from 'vitest';
import { DEFAULT_REMOTE_CREDENTIALS } from './laravel-server';
import { csrfFrom, type Agent } from './browser-session';
import { describeReason } from '../../src/sync/describe-reason';
import { createI18n } from '../../src/platform/i18n/i18n';

const english = createI18n('en').getFixedT('en');

/** An item's stored reason (a code and its parameters, or a rejected row's words) as an English page says it. */
export const reasonText = (item: Record<string, unknown>) =>
  describeReason(english, (item.reason as string | null) ?? null, item.reason_params as Record<string, unknown> | null);

/** A run's stored superseded reason as an English page says it. */
export const supersededText = (run: Record<string, unknown>) =>
  describeReason(english, (run.superseded_reason as string | null) ?? null, run.superseded_params as Record<string, unknown> | null);

/** The run's row with its superseded reason in English words. */
export const withSupersededText = (run: Record<string, unknown>) => ({ ...run, superseded_reason: supersededText(run) });

/** The environment that points the app under test at the Laravel test servers' credentials. */
export const REMOTE_ENV = {
  EXTERNAL_API_EMAIL: DEFAULT_REMOTE_CREDENTIALS.email,
  EXTERNAL_API_PASSWORD: DEFAULT_REMOTE_CREDENTIALS.password,
};

export interface LocalUser {
  email: string;
  name?: string;
  role?: string | null;
  is_active?: boolean;
  remote_id?: string | null;
}

/** A location whose online URL an admin has confirmed (confirmLocation), so that syncs may use it at once. */
export async function addLocation(db: Knex, code: string, onlineUrl: string | null): Promise<number> {
  const [row] = await db('locations')
    .insert({ code, name: `Location ${code}`, online_url: onlineUrl })
    .returning('id');
  const id = (row as { id: number }).id;
  await confirmLocation(db, id);
  return id;
}

/**
 * What an admin's password confirmation on the Locations page records: the location's current online URL
 * may receive its current code's credential. For fixtures that set locations up in the database directly.
 */
export async function confirmLocation(db: Knex, id: number): Promise<void> {
  await db('locations')
    .where({ id })
    .update({ confirmed_online_url: db.ref('online_url'), confirmed_code: db.ref('code') });
}

export async function insertUsers(db: Knex, locationId: number, users: LocalUser[]): Promise<void> {
  if (users.length === 0) return;
  await db('users').insert(
    users.map((u) => ({
      location_id: locationId,
      email: u.email,
      name: u.name ?? '',
      role: u.role ?? null,
      is_active: u.is_active ?? true,
      remote_id: u.remote_id ?? null,
      deactivated_at: u.is_active === false ? db.fn.now() : null,
    })),
  );
}

export type Row = Record<string, unknown>;

/** When a sync last saw the user unchanged (user_sync_sightings), or undefined. */
export async function sightingOf(db: Knex, locationId: number, userId: number): Promise<Date | undefined> {
  const row = await db('user_sync_sightings')
    .where({ location_id: locationId, block: userId >> 10 })
    .whereRaw('? = ANY (user_ids)', [userId])
    .first('seen_at');
  return row?.seen_at;
}

/** Every row of a table as plain JSON (dates as strings), by id: equal snapshots mean nothing changed. */
export async function snapshot(db: Knex, table = 'users'): Promise<Row[]> {
  return JSON.parse(JSON.stringify(await db(table).select('*').orderBy('id'))) as Row[];
}

/** The progress of a run as its page's script reads it. */
export interface RunProgress {
  status: string;
  running: boolean;
  phase: string;
  pagesFetched: number;
  usersFetched: number;
  pagesTotal: number | null;
  usersTotal: number | null;
  elapsedSeconds: number;
}

/**
 * Follows a run's job as the progress page does: polls its progress until it no longer runs (a preview
 * ready, failed or cancelled; an execute done). `seen` receives every answer on the way.
 */
export async function waitForRun(
  agent: { get(path: string): PromiseLike<{ status: number; body: unknown }> },
  runId: number,
  seen?: (progress: RunProgress) => void,
): Promise<RunProgress> {
  for (let attempt = 0; attempt < 3000; attempt += 1) {
    const response = await agent.get(`/admin/users/sync/${runId}/progress`);
    expect(response.status).toBe(200);
    const progress = response.body as RunProgress;
    seen?.(progress);
    if (!progress.running) return progress;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`sync run ${runId} never stopped running`);
}

/** Posts the Sync from Server form (a 303 to the run's page) and waits for the preview to be ready. */
export async function previewSync(agent: Agent, locationId: number): Promise<number> {
  const page = await agent.get('/admin/users');
  const response = await agent
    .post('/admin/users/sync/preview')
    .type('form')
    .send({ location_id: String(locationId), _csrf: csrfFrom(page.text) });
  expect(response.status, response.text).toBe(303);
  const match = /^\/admin\/users\/sync\/(\d+)$/.exec(response.headers.location ?? '');
  expect(match, response.headers.location).not.toBeNull();
  const runId = Number(match![1]);
  await waitForRun(agent, runId);
  return runId;
}

/** Presses Confirm & Execute on the run's page (with the code typed in, when given) and waits for its job. */
export async function executeSync(agent: Agent, runId: number, fields: Record<string, string | undefined> = {}) {
  const page = await agent.get(`/admin/users/sync/${runId}`);
  const response = await agent
    .post(`/admin/users/sync/${runId}/execute`)
    .type('form')
    .send({ ...fields, _csrf: csrfFrom(page.text) });
  await waitForRun(agent, runId);
  return response;
}

export async function runRow(db: Knex, runId: number): Promise<Row> {
  return db('sync_runs').where({ id: runId }).first();
}

export async function itemsOf(db: Knex, runId: number, kind?: string): Promise<Row[]> {
  const query = db('sync_run_items').where({ sync_run_id: runId }).orderBy('id');
  if (kind) query.andWhere({ kind });
  return query;
}

const PLAN_FIELDS = ['name', 'role', 'is_active', 'remote_id'] as const;

/**
 * The users table after an execute equals the table before it with exactly the run's plan applied:
 * new items added, update items changed in their listed fields, deactivate items deactivated, every
 * other row identical to the snapshot; and a sync's unchanged users recorded as seen by it.
 */
export async function expectPlanApplied(db: Knex, runId: number, before: Row[]): Promise<void> {
  const run = await runRow(db, runId);
  const items = await itemsOf(db, runId);
  const after = await snapshot(db);
  const beforeById = new Map(before.map((row) => [row.id as number, row]));
  // Updates, links and deactivations all write the fields their `after` lists (a deactivation: is_active
  // false, plus whatever else the remote changed).
  const updates = new Map(items.filter((i) => ['update', 'linked', 'deactivate'].includes(i.kind as string)).map((i) => [i.user_id as number, i]));

  for (const row of after) {
    const id = row.id as number;
    const old = beforeById.get(id);
    if (!old) continue;
    const update = updates.get(id);
    if (update) {
      const changes = update.after as Row;
      const expected: Row = { ...old };
      for (const field of PLAN_FIELDS) if (field in changes) expected[field] = changes[field];
      for (const field of [...PLAN_FIELDS, 'email', 'location_id', 'password_hash', 'created_at']) {
        expect(row[field], `user ${id} ${field}`).toEqual(expected[field]);
      }
      expect(row.last_synced_at, `user ${id} last_synced_at`).not.toBeNull();
      if (changes.is_active === false) expect(row.deactivated_at).not.toBeNull();
      if (changes.is_active === true) expect(row.deactivated_at).toBeNull();
      if (update.kind === 'deactivate') expect(row.is_active).toBe(false);
    } else {
      expect(row, `user ${id} (${String(old.email)}) must be untouched`).toEqual(old);
    }
  }
  expect(after.filter((row) => beforeById.has(row.id as number))).toHaveLength(before.length);
  if (run.run_type === 'sync') {
    const unchanged = (run.unchanged_user_ids as number[] | null) ?? [];
    const { rows } = await db.raw(
      `SELECT x.id FROM user_sync_sightings s CROSS JOIN LATERAL unnest(s.user_ids) AS x(id) WHERE s.location_id = ? AND s.seen_at >= ?`,
      [run.location_id as number, run.created_at as Date],
    );
    const seen = new Set((rows as Array<{ id: number }>).map((row) => row.id));
    expect(
      unchanged.filter((id) => !seen.has(id)),
      'the unchanged users are recorded as seen by the run',
    ).toEqual([]);
  }

  const added = after.filter((row) => !beforeById.has(row.id as number));
  const newItems = items.filter((i) => i.kind === 'new');
  expect(added).toHaveLength(newItems.length);
  expect(added).toHaveLength(run.new_count as number);
  for (const item of newItems) {
    const planned = item.after as Row;
    const row = added.find((r) => r.email === item.email);
    expect(row, `new user ${String(item.email)}`).toBeDefined();
    expect(row).toMatchObject({
      location_id: run.location_id,
      name: planned.name,
      role: planned.role,
      is_active: planned.is_active,
      remote_id: planned.remote_id,
      password_hash: null,
    });
    expect(row!.last_synced_at).not.toBeNull();
  }
}

/** Waits (without a clock) until a backend of the app is blocked on an advisory lock; returns its pid. */
export async function waitForAdvisoryWaiter(db: Knex, databaseName: string): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const result = await db.raw(
      `SELECT pid FROM pg_stat_activity
       WHERE datname = ? AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> pg_backend_pid()`,
      [databaseName],
    );
    if (result.rows.length > 0) return result.rows[0].pid as number;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no backend ever waited on the advisory lock');
}
