import type pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXECUTE_INTERRUPTED } from '../../src/sync/sync-jobs.service';
import { TEST_ADMIN, TEST_SECRETS } from '../support/app';
import { csrfFrom } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, expectPlanApplied, insertUsers, runRow, snapshot, waitForRun } from '../support/sync-fixtures';
import { startAppProcess, startService, type AppProcess, type ServiceProcess, signInTo } from './app-process';

let database: TestDatabase;
let databaseName: string;
let slow: LaravelServer;
let quick: LaravelServer;
let farId: number;
let devId: number;
const running: AppProcess[] = [];
const services: ServiceProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  databaseName = new URL(database.url).pathname.slice(1);
  const users = Array.from({ length: 60 }, (_, i) => ({
    id: i + 1,
    name: `User ${i + 1}`,
    email: `user${i + 1}@far.test`,
    role: 'vendor',
    is_active: true,
  }));
  // Twelve pages, each answered slowly: the preview is still fetching when the stop comes.
  slow = await startLaravelServer({ users, shape: 'paginate', pageDelayMs: 400 });
  farId = await addLocation(database.db, 'FAR', slow.url);
  quick = await startLaravelServer({
    users: [
      { id: 1, name: 'Added One', email: 'added1@dev.test', role: 'vendor', is_active: true },
      { id: 3, name: 'New Name', email: 'changed@dev.test', role: 'vendor', is_active: true },
    ],
  });
  devId = await addLocation(database.db, 'DEV', quick.url);
});
afterAll(async () => {
  for (const app of running) if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
  for (const service of services) {
    try {
      service.signalGroup('SIGKILL');
    } catch {
      // the group is gone
    }
  }
  await slow.close();
  await quick.close();
  await database.drop();
});

const env = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: database.url,
  ...TEST_SECRETS,
  ADMIN_EMAIL: TEST_ADMIN.email,
  ADMIN_PASSWORD: TEST_ADMIN.password,
  ...REMOTE_ENV,
  REMOTE_PER_PAGE: '5',
  REMOTE_CONCURRENCY: '1',
  ...extra,
});

async function startApp(extra: Record<string, string> = {}): Promise<AppProcess> {
  const app = await startAppProcess(env(extra));
  running.push(app);
  return app;
}

async function postForm(url: string, cookie: string, path: string, tokenFrom: string, fields: Record<string, string> = {}) {
  const page = await request(url).get(tokenFrom).set('Cookie', cookie);
  return request(url)
    .post(path)
    .set('Cookie', cookie)
    .type('form')
    .send({ ...fields, _csrf: csrfFrom(page.text) });
}

const agentOn = (url: string, cookie: string) => ({ get: (path: string) => request(url).get(path).set('Cookie', cookie) });

/** Starts a preview of the slow location and resolves once its worker has fetched a page of it. */
async function previewInFlight(url: string): Promise<number> {
  const cookie = await signInTo(url);
  const response = await postForm(url, cookie, '/admin/users/sync/preview', '/admin/users', { location_id: String(farId) });
  expect(response.status).toBe(303);
  const runId = Number(/(\d+)$/.exec(response.headers.location ?? '')![1]);
  await until(async () => {
    const progress = await database.db('sync_run_progress').where({ sync_run_id: runId }).first();
    return progress?.phase === 'fetching' && progress.pages_fetched >= 1;
  }, `run ${runId} never fetched a page`);
  return runId;
}

async function until(condition: () => Promise<boolean>, failure: string): Promise<void> {
  for (let attempt = 0; attempt < 1500; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(failure);
}

/** The final log line of a stop, parsed. */
function stoppedLine(output: string): Record<string, unknown> | undefined {
  const line = output.split('\n').find((l) => l.includes('"msg":"stopped"'));
  return line ? (JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>) : undefined;
}

/** Queued again with no worker, and a job of its own waiting in the queue: the next instance's worker takes it at once. */
async function expectHandedBack(runId: number) {
  expect(await runRow(database.db, runId)).toMatchObject({ status: 'queued' });
  const progress = await database.db('sync_run_progress').where({ sync_run_id: runId }).first();
  expect(progress).toMatchObject({ phase: 'queued', worker: null });
  expect(progress.job_id).not.toBeNull();
  expect(await database.db('pgboss.job').where({ id: progress.job_id }).first()).toMatchObject({ state: 'created' });
}

describe('when the service started with npm start is stopped mid-preview', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'by %s to its process group, then the preview is handed back and the app logs stopped (exit 0)',
    async (signal) => {
      const service = await startService(env());
      services.push(service);
      const runId = await previewInFlight(service.url);

      service.signalGroup(signal);
      await service.gone();

      // Read at once: nothing had to time out for the run to be free again.
      await expectHandedBack(runId);
      expect(service.output()).toContain('sync preview handed back to the queue: this instance stops');
      expect(stoppedLine(service.output())).toMatchObject({ signal, exitCode: 0 });
      // Leave the location free for the next test.
      await database.db('sync_runs').where({ id: runId }).update({ status: 'cancelled' });
    },
  );
});

describe('when the app is stopped (SIGTERM) mid-preview', () => {
  it('then it hands the preview back, exits 0 after logging stopped, and the next instance makes the preview', async () => {
    const first = await startApp();
    const runId = await previewInFlight(first.url);

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    await expectHandedBack(runId);
    expect(stoppedLine(first.output())).toMatchObject({ signal: 'SIGTERM', exitCode: 0 });

    const second = await startApp();
    const cookie = await signInTo(second.url);
    expect((await waitForRun(agentOn(second.url, cookie), runId)).status).toBe('previewed');
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', new_count: 60 });
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    await database.db('sync_runs').where({ id: runId }).update({ status: 'discarded' });
  });
});

describe('when the app is stopped (SIGTERM) mid-execute', () => {
  let before: Awaited<ReturnType<typeof snapshot>>;
  let changedId: number;

  beforeAll(async () => {
    await insertUsers(database.db, devId, [
      { email: 'changed@dev.test', name: 'Old Name', role: 'vendor', remote_id: '3' },
      { email: 'gone@dev.test', name: 'Gone', role: 'vendor', remote_id: '4' },
    ]);
    changedId = (await database.db('users').where({ email: 'changed@dev.test' }).first()).id;
  });

  /** Previews DEV, then executes it while the test holds a row the execute updates: it waits on that lock. */
  async function executeBlocked(app: AppProcess, holder: pg.Client): Promise<number> {
    const cookie = await signInTo(app.url);
    const preview = await postForm(app.url, cookie, '/admin/users/sync/preview', '/admin/users', { location_id: String(devId) });
    const runId = Number(/(\d+)$/.exec(preview.headers.location ?? '')![1]);
    await waitForRun(agentOn(app.url, cookie), runId);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed' });
    before = await snapshot(database.db);
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [changedId]);
    const executing = await postForm(app.url, cookie, `/admin/users/sync/${runId}/execute`, `/admin/users/sync/${runId}`);
    expect(executing.status).toBe(303);
    // Another connection: inside the holder's transaction pg_stat_activity would not change.
    const dba = await database.directClient();
    try {
      await until(async () => {
        const result = await dba.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE '%UPDATE users u SET%'`,
          [databaseName],
        );
        return result.rows.length === 1;
      }, 'the execute never waited on the held row');
    } finally {
      await dba.end();
    }
    return runId;
  }

  it(
    "by SIGTERM to npm start's group, then the execute finishes within the grace and the run is completed when the service is gone",
    { timeout: 60_000 },
    async () => {
      const service = await startService(env());
      services.push(service);
      const holder = await database.directClient();
      try {
        const runId = await executeBlocked(service, holder);
        expect(await runRow(database.db, runId)).toMatchObject({ new_count: 1, update_count: 1, deactivate_count: 1 });
        service.signalGroup('SIGTERM');
        await until(
          async () => service.output().includes('waiting for the running sync executes to finish'),
          'the stop never waited for the execute',
        );
        // The execute goes on once the row is free, within SHUTDOWN_GRACE_SECONDS (30).
        await holder.query('ROLLBACK');
        await service.gone();
        expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed' });
        await expectPlanApplied(database.db, runId, before);
        expect(stoppedLine(service.output())).toMatchObject({ signal: 'SIGTERM', exitCode: 0 });
      } finally {
        await holder.end();
      }
    },
  );

  it(
    'then past the grace the execute is rolled back, the run is back to its preview when the process has exited, and it executes once later',
    { timeout: 60_000 },
    async () => {
      // A second preview of DEV: the first one was applied, so make the remote differ again.
      await database.db('users').where({ id: changedId }).update({ name: 'Old Name' });
      const app = await startApp({ SHUTDOWN_GRACE_SECONDS: '1' });
      const holder = await database.directClient();
      let runId: number;
      try {
        runId = await executeBlocked(app, holder);
        app.child.kill('SIGTERM');
        // The row stays held: the grace ends first.
        expect(await app.exited).toEqual({ code: 0, signal: null });
        expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', executed_at: null, error: EXECUTE_INTERRUPTED });
        expect(app.output()).toContain('sync execute still running when the stop grace ended: rolling it back');
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
      expect(await snapshot(database.db)).toEqual(before);

      const next = await startApp();
      const cookie = await signInTo(next.url);
      const execute = await postForm(next.url, cookie, `/admin/users/sync/${runId}/execute`, `/admin/users/sync/${runId}`);
      expect(execute.status).toBe(303);
      await waitForRun(agentOn(next.url, cookie), runId);
      expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed' });
      await expectPlanApplied(database.db, runId, before);
      next.child.kill('SIGTERM');
      expect(await next.exited).toEqual({ code: 0, signal: null });
    },
  );
});
