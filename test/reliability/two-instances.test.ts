import type pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/platform/db/knex';
import { buildTestApp, listen, TEST_ADMIN, type TestApp } from '../support/app';
import { csrfFrom } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, expectPlanApplied, insertUsers, runRow, snapshot, waitForRun } from '../support/sync-fixtures';

/** One Sinkron instance: its own app, pool, session store and port, on the shared database. */
interface Instance {
  t: TestApp;
  url: string;
  close(): Promise<void>;
}

let database: TestDatabase;
let databaseName: string;
let a: Instance;
let b: Instance;
const servers: LaravelServer[] = [];

async function startInstance(): Promise<Instance> {
  const db = createDb(database.url);
  const t = await buildTestApp({ ...database, db }, REMOTE_ENV);
  const server = await listen(t.app);
  return {
    t,
    url: server.url,
    async close() {
      await server.close();
      await t.close();
      await db.destroy();
    },
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  databaseName = new URL(database.url).pathname.slice(1);
  a = await startInstance();
  b = await startInstance();
});
afterAll(async () => {
  await a.close();
  await b.close();
  await Promise.all(servers.map((s) => s.close()));
  await database.drop();
});

/** A browser: its cookies (the session's and the sign-in form's), sent to whichever instance the load balancer picks. */
class Browser {
  private readonly cookies = new Map<string, string>();

  get cookie(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async get(instance: Instance, path: string) {
    const response = await request(instance.url).get(path).set('Cookie', this.cookie);
    this.keep(response.headers['set-cookie']);
    return response;
  }

  async post(instance: Instance, path: string, fields: Record<string, string>, tokenFrom: { instance: Instance; path: string }) {
    const page = await this.get(tokenFrom.instance, tokenFrom.path);
    const response = await request(instance.url)
      .post(path)
      .set('Cookie', this.cookie)
      .type('form')
      .send({ ...fields, _csrf: csrfFrom(page.text) });
    this.keep(response.headers['set-cookie']);
    return response;
  }

  private keep(setCookie: string | string[] | undefined) {
    for (const cookie of ([] as string[]).concat(setCookie ?? [])) {
      const [pair] = cookie.split(';');
      const name = pair!.slice(0, pair!.indexOf('='));
      const value = pair!.slice(pair!.indexOf('=') + 1);
      if (value && !/Expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.set(name, value);
      else this.cookies.delete(name);
    }
  }
}

async function signIn(on: Instance): Promise<Browser> {
  const browser = new Browser();
  const response = await browser.post(on, '/login', TEST_ADMIN, { instance: on, path: '/login' });
  expect(response.status).toBe(303);
  return browser;
}

async function scenario(code: string) {
  const domain = code.toLowerCase();
  const remote = await startLaravelServer({
    users: [
      { id: 1, name: 'Added', email: `added@${domain}.test`, role: 'vendor', is_active: true },
      { id: 2, name: 'New Name', email: `changed@${domain}.test`, role: 'vendor', is_active: true },
    ],
  });
  servers.push(remote);
  const locationId = await addLocation(database.db, code, remote.url);
  await insertUsers(database.db, locationId, [
    { email: `changed@${domain}.test`, name: 'Old Name', role: 'vendor', remote_id: '2' },
    { email: `gone@${domain}.test`, name: 'Gone', role: 'vendor', remote_id: '3' },
  ]);
  return { locationId, remote };
}

/** The run's progress, read through one instance as the page's script would. */
const follow = (browser: Browser, on: Instance, runId: number) => waitForRun({ get: (path) => browser.get(on, path) }, runId);

async function preview(browser: Browser, on: Instance, locationId: number): Promise<number> {
  const response = await browser.post(on, '/admin/users/sync/preview', { location_id: String(locationId) }, { instance: on, path: '/admin/users' });
  expect(response.status).toBe(303);
  const runId = Number(/^\/admin\/users\/sync\/(\d+)$/.exec(response.headers.location ?? '')![1]);
  await follow(browser, on, runId);
  return runId;
}

/** Waits, polling pg_stat_activity, until `count` backends of the app wait on a lock. */
async function waitForLockWaiters(dba: pg.Client, count: number): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    const result = await dba.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = $1 AND application_name = 'sinkron' AND wait_event_type = 'Lock'`,
      [databaseName],
    );
    if (result.rows[0]!.n >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`fewer than ${count} backends ever waited on a lock`);
}

const logsOfBoth = () => [...a.t.logs.entries(), ...b.t.logs.entries()];

describe('two instances on one database', () => {
  it('when an admin signs in on one, then the session is valid on the other; signing out on the other ends it on both', async () => {
    const browser = await signIn(a);
    expect((await browser.get(b, '/admin/users')).status).toBe(200);
    expect((await browser.get(a, '/admin/users')).status).toBe(200);

    const out = await browser.post(b, '/logout', {}, { instance: a, path: '/admin/users' });
    expect(out.status).toBe(303);
    for (const instance of [a, b]) {
      const page = await request(instance.url).get('/admin/users').set('Cookie', browser.cookie);
      expect(page.status).toBe(303);
      expect(page.headers.location).toMatch(/^\/login/);
    }
  });

  it('when a preview is made on one, then it is executed on the other, exactly as planned', async () => {
    const { locationId } = await scenario('HANDOVER');
    const browser = await signIn(a);
    const runId = await preview(browser, a, locationId);
    const before = await snapshot(database.db);

    const response = await browser.post(b, `/admin/users/sync/${runId}/execute`, {}, { instance: b, path: `/admin/users/sync/${runId}` });
    expect(response.status).toBe(303);
    await follow(browser, a, runId);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed' });
    await expectPlanApplied(database.db, runId, before);
    const result = await browser.get(a, `/admin/users/sync/${runId}`);
    expect(result.text).toContain('Sync completed: 1 added, 1 updated, 0 linked, 1 deactivated (1 missing from HANDOVER), 0 unchanged.');
    // Whichever instance's worker took the job, it applied the plan once.
    expect(logsOfBoth().filter((e) => e.msg === 'sync executed' && e.runId === runId)).toHaveLength(1);
  });

  it('when two admins execute one preview at the same moment on the two instances, then it is applied once and the other is told so', async () => {
    const { locationId } = await scenario('RACE');
    const first = await signIn(a);
    const second = await signIn(b);
    const runId = await preview(first, a, locationId);
    const before = await snapshot(database.db);
    const [pageA, pageB] = [await first.get(a, `/admin/users/sync/${runId}`), await second.get(b, `/admin/users/sync/${runId}`)];

    const responses = await Promise.all([
      request(a.url)
        .post(`/admin/users/sync/${runId}/execute`)
        .set('Cookie', first.cookie)
        .type('form')
        .send({ _csrf: csrfFrom(pageA.text) }),
      request(b.url)
        .post(`/admin/users/sync/${runId}/execute`)
        .set('Cookie', second.cookie)
        .type('form')
        .send({ _csrf: csrfFrom(pageB.text) }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([303, 303]);
    await follow(first, a, runId);

    expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed' });
    await expectPlanApplied(database.db, runId, before);
    expect(await database.db('users').where({ email: 'added@race.test' }).count({ n: '*' }).first()).toEqual({ n: 1 });
    expect(logsOfBoth().filter((e) => e.msg === 'sync execute handed to a job' && e.runId === runId)).toHaveLength(1);
    expect(logsOfBoth().filter((e) => e.msg === 'sync executed' && e.runId === runId)).toHaveLength(1);
    const landed = [await first.get(a, `/admin/users/sync/${runId}`), await second.get(b, `/admin/users/sync/${runId}`)];
    for (const page of landed)
      expect(page.text).toContain('Sync completed: 1 added, 1 updated, 0 linked, 1 deactivated (1 missing from RACE), 0 unchanged.');
    const told = landed.filter((page) => /This sync (is already being executed|had already been executed)/.test(page.text));
    expect(told).toHaveLength(1);
  });

  it('when two previews of one location are executed on the two instances, then the second waits for the first and finds it applied', async () => {
    const { locationId } = await scenario('SERIAL');
    const browser = await signIn(a);
    const firstRun = await preview(browser, a, locationId);
    const secondRun = await preview(browser, b, locationId);
    const before = await snapshot(database.db);
    const changed = await database.db('users').where({ email: 'changed@serial.test' }).first();

    const holder = await database.directClient();
    const dba = await database.directClient();
    try {
      // The first execute's job takes the location lock, inserts, then waits on a row held here.
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [changed.id]);
      const first = await browser.post(a, `/admin/users/sync/${firstRun}/execute`, {}, { instance: a, path: `/admin/users/sync/${firstRun}` });
      expect(first.status).toBe(303);
      await waitForLockWaiters(dba, 1);

      // The second, on the other instance, is refused while the first runs: one job per location.
      const second = await browser.post(b, `/admin/users/sync/${secondRun}/execute`, {}, { instance: b, path: `/admin/users/sync/${secondRun}` });
      expect(second.status).toBe(303);
      expect((await browser.get(b, `/admin/users/sync/${secondRun}`)).text).toContain('Another sync of this location is running');
      expect(await runRow(database.db, secondRun)).toMatchObject({ status: 'previewed' });
      await holder.query('COMMIT');
    } finally {
      await holder.end();
      await dba.end();
    }
    await follow(browser, a, firstRun);
    expect(await runRow(database.db, firstRun)).toMatchObject({ status: 'completed' });
    await expectPlanApplied(database.db, firstRun, before);

    const again = await browser.post(b, `/admin/users/sync/${secondRun}/execute`, {}, { instance: b, path: `/admin/users/sync/${secondRun}` });
    expect(again.status).toBe(303);
    await follow(browser, b, secondRun);
    expect(await runRow(database.db, secondRun)).toMatchObject({
      status: 'failed',
      error: 'Data changed since the preview; run the preview again.',
    });
    const page = await browser.get(a, `/admin/users/sync/${secondRun}`);
    expect(page.text).toContain('Data changed since the preview; run the preview again.');
  });
});
