import type pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN, TEST_SECRETS } from '../support/app';
import { csrfFrom } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, expectPlanApplied, insertUsers, runRow, snapshot, waitForRun } from '../support/sync-fixtures';
import { startAppProcess, type AppProcess, signInTo } from './app-process';

let database: TestDatabase;
let databaseName: string;
let remote: LaravelServer;
let devId: number;
const running: AppProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  databaseName = new URL(database.url).pathname.slice(1);
  remote = await startLaravelServer({
    users: [
      { id: 1, name: 'Added One', email: 'added1@dev.test', role: 'vendor', is_active: true },
      { id: 2, name: 'Added Two', email: 'added2@dev.test', role: 'vendor', is_active: true },
      { id: 3, name: 'New Name', email: 'changed@dev.test', role: 'vendor', is_active: true },
    ],
  });
  devId = await addLocation(database.db, 'DEV', remote.url);
  await insertUsers(database.db, devId, [
    { email: 'changed@dev.test', name: 'Old Name', role: 'vendor', remote_id: '3' },
    { email: 'gone@dev.test', name: 'Gone', role: 'vendor', remote_id: '4' },
  ]);
});
afterAll(async () => {
  for (const app of running) if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
  await remote.close();
  await database.drop();
});

async function startApp(): Promise<AppProcess> {
  const app = await startAppProcess({
    DATABASE_URL: database.url,
    ...TEST_SECRETS,
    ADMIN_EMAIL: TEST_ADMIN.email,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    ...REMOTE_ENV,
    // The restarted instance takes over a run whose instance has been silent this long.
    SYNC_STALL_SECONDS: '2',
  });
  running.push(app);
  return app;
}

/** GETs with the session cookie, as the progress page's script does. */
const agentOn = (url: string, cookie: string) => ({ get: (path: string) => request(url).get(path).set('Cookie', cookie) });

async function postForm(url: string, cookie: string, path: string, tokenFrom: string, fields: Record<string, string> = {}) {
  const page = await request(url).get(tokenFrom).set('Cookie', cookie);
  return request(url)
    .post(path)
    .set('Cookie', cookie)
    .type('form')
    .send({ ...fields, _csrf: csrfFrom(page.text) });
}

/** Polls pg_stat_activity (no clock in the assertion) until `found` holds for the rows returned. */
async function pollActivity(dba: pg.Client, sql: string, params: unknown[], found: (rows: Array<Record<string, unknown>>) => boolean) {
  for (let attempt = 0; attempt < 1500; attempt += 1) {
    const result = await dba.query(sql, params);
    if (found(result.rows)) return result.rows;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`pg_stat_activity never showed what was awaited: ${sql}`);
}

describe('when the app process is killed (SIGKILL) in the middle of execute', () => {
  it('then no change is kept, the run is not left executing, and after a restart the preview can be executed once, completely', async () => {
    const first = await startApp();
    const cookie = await signInTo(first.url);
    const preview = await postForm(first.url, cookie, '/admin/users/sync/preview', '/admin/users', { location_id: String(devId) });
    expect(preview.status).toBe(303);
    const runId = Number(/(\d+)$/.exec(preview.headers.location ?? '')![1]);
    await waitForRun(agentOn(first.url, cookie), runId);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', new_count: 2, update_count: 1, deactivate_count: 1 });
    const before = await snapshot(database.db);
    const changed = await database.db('users').where({ email: 'changed@dev.test' }).first();

    const holder = await database.directClient();
    const dba = await database.directClient();
    try {
      // Execute inserts the two new users, then waits on the row held here: the process dies mid-transaction.
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [changed.id]);
      // The execute is handed to the job, which inserts the two new users, then waits on the row held here.
      const executing = await postForm(first.url, cookie, `/admin/users/sync/${runId}/execute`, `/admin/users/sync/${runId}`);
      expect(executing.status).toBe(303);
      const [blocked] = await pollActivity(
        dba,
        `SELECT pid FROM pg_stat_activity
         WHERE datname = $1 AND wait_event_type = 'Lock' AND state = 'active' AND query LIKE '%UPDATE users u SET%'`,
        [databaseName],
        (rows) => rows.length === 1,
      );

      first.child.kill('SIGKILL');
      expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });

      // The orphaned backend finds its client gone once it can move on, and its transaction is rolled back.
      await holder.query('ROLLBACK');
      await pollActivity(dba, 'SELECT pid FROM pg_stat_activity WHERE pid = $1', [blocked!.pid], (rows) => rows.length === 0);
    } finally {
      await holder.end();
      await dba.end();
    }

    expect(await snapshot(database.db)).toEqual(before);
    // The record still says executing: its transaction, which would have said completed, never committed.
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'executing', executed_at: null });

    // A new process, the same session (it lives in Postgres): it finds the run's instance gone and gives the
    // preview back, saying that nothing was changed; executed again, it is applied once, whole.
    const second = await startApp();
    const afterCrash = await waitForRun(agentOn(second.url, cookie), runId);
    expect(afterCrash.status).toBe('previewed');
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', executed_at: null });
    const page = await request(second.url).get(`/admin/users/sync/${runId}`).set('Cookie', cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('stopped before its transaction committed: no user was changed');
    expect(page.text).toContain(`action="/admin/users/sync/${runId}/execute"`);
    const execute = await postForm(second.url, cookie, `/admin/users/sync/${runId}/execute`, `/admin/users/sync/${runId}`);
    expect(execute.status).toBe(303);
    await waitForRun(agentOn(second.url, cookie), runId);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed' });
    await expectPlanApplied(database.db, runId, before);
    const result = await request(second.url).get(`/admin/users/sync/${runId}`).set('Cookie', cookie);
    expect(result.text).toContain('Sync completed: 2 added, 1 updated, 0 linked, 1 deactivated (1 missing from DEV), 0 unchanged.');
    expect(second.output()).toMatch(/"msg":"sync executed"/);

    second.child.kill('SIGTERM');
    // A normal stop (SIGTERM) still shuts down cleanly after the crash.
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.output()).toContain('"msg":"shutting down"');
  });
});
