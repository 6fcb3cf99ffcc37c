import type pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app';
import { signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, executeSync, expectPlanApplied, insertUsers, previewSync, runRow, snapshot } from '../support/sync-fixtures';

let database: TestDatabase;
let databaseName: string;
let t: TestApp;
let agent: Agent;
let remote: LaravelServer;
let devId: number;

beforeAll(async () => {
  database = await createTestDatabase();
  databaseName = new URL(database.url).pathname.slice(1);
  remote = await startLaravelServer({
    users: [
      { id: 1, name: 'Brand New', email: 'new@dev.test', role: 'vendor', is_active: true },
      { id: 2, name: 'Renamed', email: 'rename@dev.test', role: 'vendor', is_active: true },
    ],
  });
  t = await buildTestApp(database, REMOTE_ENV);
  agent = await signedInAgent(t.app);
  devId = await addLocation(database.db, 'DEV', remote.url);
  await insertUsers(database.db, devId, [
    { email: 'rename@dev.test', name: 'Old Name', role: 'vendor', remote_id: '2' },
    { email: 'gone@dev.test', name: 'Gone', role: 'vendor', remote_id: '3' },
  ]);
});
afterAll(async () => {
  await t.close();
  await remote.close();
  await database.drop();
});

/** The app's backend once it waits for a row lock inside the given statement (polled, no clock involved). */
async function backendBlockedIn(dba: pg.Client, statementPart: string): Promise<number> {
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    const result = await dba.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
       WHERE datname = $1 AND application_name = 'sinkron' AND wait_event_type = 'Lock'
         AND state = 'active' AND query LIKE $2`,
      [databaseName, `%${statementPart}%`],
    );
    if (result.rows[0]) return result.rows[0].pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no backend of the app ever waited in a statement with "${statementPart}"`);
}

describe('when the Postgres connection is lost in the middle of execute', () => {
  it('then the new users already inserted are rolled back, the run is failed with the cause, and the app keeps serving', async () => {
    const runId = await previewSync(agent, devId);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', new_count: 1, update_count: 1, deactivate_count: 1 });
    const before = await snapshot(database.db);
    const renamed = await database.db('users').where({ location_id: devId, email: 'rename@dev.test' }).first();

    // Another session holds the row the plan updates: execute inserts the new user, then waits on the UPDATE.
    const holder = await database.directClient();
    const dba = await database.directClient();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [renamed.id]);

      const pending = executeSync(agent, runId).then((r) => r);
      const pid = await backendBlockedIn(dba, 'UPDATE users u SET');
      // The insert ran in the execute transaction before it blocked; nobody else can see it.
      const inserted = await dba.query('SELECT count(*)::int AS n FROM users WHERE email = $1', ['new@dev.test']);
      expect(inserted.rows[0].n).toBe(0);

      const logStart = t.logs.lines.length;
      await dba.query('SELECT pg_terminate_backend($1)', [pid]);
      const response = await pending;
      await holder.query('ROLLBACK');

      // The execute ran in a job: the admin was on the run's page already, which now shows the failure.
      expect(response.status).toBe(303);
      expect(await snapshot(database.db)).toEqual(before);
      const run = await runRow(database.db, runId);
      expect(run).toMatchObject({
        status: 'failed',
        executed_at: null,
        error: 'Execution failed and nothing was changed: the database connection was terminated. Run the preview again.',
      });
      const failed = t.logs
        .entries()
        .slice(logStart)
        .find((e) => e.msg === 'sync execute failed');
      expect(failed).toMatchObject({ runId, cause: 'the database connection was terminated' });

      // The page of the run says the same; a retry of the failed run changes nothing.
      const page = await agent.get(`/admin/users/sync/${runId}`);
      expect(page.text).toContain('This sync failed; no user was changed.');
      expect(page.text).toContain('the database connection was terminated');
      await executeSync(agent, runId);
      expect(await snapshot(database.db)).toEqual(before);
    } finally {
      await holder.end();
      await dba.end();
    }

    expect((await request(t.app).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await agent.get('/admin/users')).status).toBe(200);

    const again = await previewSync(agent, devId);
    const beforeAgain = await snapshot(database.db);
    expect((await executeSync(agent, again)).status).toBe(303);
    expect(await runRow(database.db, again)).toMatchObject({ status: 'completed' });
    await expectPlanApplied(database.db, again, beforeAgain);
  });
});
