import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN, TEST_SECRETS } from '../support/app';
import { csrfFrom } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, runRow, waitForRun } from '../support/sync-fixtures';
import { startAppProcess, type AppProcess, signInTo } from './app-process';

let database: TestDatabase;
let remote: LaravelServer;
let locationId: number;
const running: AppProcess[] = [];

const USERS = 60;

beforeAll(async () => {
  database = await createTestDatabase();
  const users = Array.from({ length: USERS }, (_, i) => ({
    id: i + 1,
    name: `User ${i + 1}`,
    email: `user${i + 1}@far.test`,
    role: 'vendor',
    is_active: true,
  }));
  // Slow enough that the preview is still fetching when its instance is killed.
  remote = await startLaravelServer({ users, shape: 'paginate', pageDelayMs: 200 });
  locationId = await addLocation(database.db, 'FAR', remote.url);
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
    REMOTE_PER_PAGE: '5',
    REMOTE_CONCURRENCY: '1',
    // The bound after which a silent instance's run is taken over (60 s by default).
    SYNC_STALL_SECONDS: '2',
  });
  running.push(app);
  return app;
}

describe('when the instance running a preview is killed (SIGKILL)', () => {
  it('then the other instance takes the run over within the bound and makes the preview from scratch', async () => {
    const [one, two] = [await startApp(), await startApp()];
    const cookie = await signInTo(one.url);
    const page = await request(one.url).get('/admin/users').set('Cookie', cookie);
    const response = await request(one.url)
      .post('/admin/users/sync/preview')
      .set('Cookie', cookie)
      .type('form')
      .send({ location_id: String(locationId), _csrf: csrfFrom(page.text) });
    expect(response.status).toBe(303);
    const runId = Number(/(\d+)$/.exec(response.headers.location ?? '')![1]);

    // Whichever instance's worker took the job: it says so in the run's progress (host:pid).
    let worker: string | null = null;
    for (let attempt = 0; attempt < 1000 && !worker; attempt += 1) {
      const row = await database.db('sync_run_progress').where({ sync_run_id: runId }).first();
      if (row.phase === 'fetching' && row.pages_fetched >= 1) worker = row.worker;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(worker).not.toBeNull();
    const victim = [one, two].find((app) => worker!.endsWith(`:${app.child.pid}`))!;
    const survivor = victim === one ? two : one;
    expect(victim).toBeDefined();

    victim.child.kill('SIGKILL');
    expect(await victim.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewing' });

    // The survivor finds the run's worker silent and its transaction gone, and starts the preview again.
    const done = await waitForRun({ get: (path) => request(survivor.url).get(path).set('Cookie', cookie) }, runId);
    expect(done.status).toBe('previewed');
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', new_count: USERS, remote_count: USERS });
    const progress = await database.db('sync_run_progress').where({ sync_run_id: runId }).first();
    expect(progress).toMatchObject({ attempt: 2, worker: expect.stringMatching(new RegExp(`:${survivor.child.pid}$`)) });
    expect(survivor.output()).toContain('sync job taken over: its instance stopped');
    const view = await request(survivor.url).get(`/admin/users/sync/${runId}`).set('Cookie', cookie);
    expect(view.text).toContain(`action="/admin/users/sync/${runId}/execute"`);
  });
});
