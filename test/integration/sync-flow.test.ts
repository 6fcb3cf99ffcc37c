import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_ADMIN, type TestApp } from '../support/app';
import { csrfToken, signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import {
  REMOTE_ENV,
  addLocation,
  executeSync,
  expectPlanApplied,
  insertUsers,
  itemsOf,
  previewSync,
  runRow,
  snapshot,
  type Row,
  reasonText,
  sightingOf,
} from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let remote: LaravelServer;
let devId: number;
let testId: number;

const SCRIPT_NAME = '<script>alert("owned")</script>';

const remoteRows = [
  { id: 1, name: 'Keep One', email: 'keep1@dev.test', role: 'vendor', is_active: true },
  { id: 2, name: 'Renamed Remotely', email: 'rename@dev.test', role: 'vendor', is_active: true },
  { id: 3, name: 'Dev Vendor 1', email: 'dev_vendor1@dkm', role: 'manager', is_active: 1 },
  { id: 4, name: 'Sleeper', email: 'sleeper@dev.test', role: 'vendor', is_active: '1' },
  { id: 5, name: SCRIPT_NAME, email: 'script@dev.test', role: 'vendor', is_active: true },
  { id: 6, name: 'Remote Boss', email: 'boss@dev.test', role: 'admin', is_active: true },
  { id: 7, name: 'Mixed Case', email: '  NewMixed@Dev.Test ', role: null, is_active: true },
  { id: 8, name: 'Quits', email: 'quits@dev.test', role: 'vendor', is_active: false },
  { id: 9, name: 'No Email', email: 'not-an-email', role: 'vendor', is_active: true },
];

beforeAll(async () => {
  database = await createTestDatabase();
  remote = await startLaravelServer({ users: remoteRows, shape: 'paginate' });
  t = await buildTestApp(database, { ...REMOTE_ENV, REMOTE_PER_PAGE: '4' });
  agent = await signedInAgent(t.app);
  devId = await addLocation(database.db, 'DEV', remote.url);
  testId = await addLocation(database.db, 'TEST', 'http://127.0.0.1:9');
  await insertUsers(database.db, devId, [
    { email: 'keep1@dev.test', name: 'Keep One', role: 'vendor', remote_id: '1' },
    { email: 'Rename@Dev.test', name: 'Old Name', role: 'vendor', remote_id: '2' },
    { email: 'dev_vendor1@dkm', name: 'Dev Vendor 1', role: 'vendor', remote_id: '3' },
    { email: 'sleeper@dev.test', name: 'Sleeper', role: 'vendor', remote_id: '4', is_active: false },
    { email: 'quits@dev.test', name: 'Quits', role: 'vendor', remote_id: '8' },
    { email: 'gone@dev.test', name: 'Gone Away', role: 'vendor', remote_id: '99' },
    { email: 'long-gone@dev.test', name: 'Long Gone', role: 'vendor', is_active: false },
  ]);
  await insertUsers(database.db, testId, [
    { email: 'dev_vendor1@dkm', name: 'Dev Vendor 1 on TEST', role: 'vendor', remote_id: '3' },
    { email: 'gone@dev.test', name: 'Also on TEST', role: 'vendor' },
  ]);
});
afterAll(async () => {
  await t.close();
  await remote.close();
  await database.drop();
});

const userOf = async (locationId: number, email: string) => database.db('users').where({ location_id: locationId, email }).first();

describe('Sync from Server against the Laravel-shaped server', () => {
  let runId: number;
  let beforeExecute: Row[];
  let goneSessionId: string;

  it('previews: saves the plan with its counts and shows every section', async () => {
    const before = await snapshot(database.db);
    runId = await previewSync(agent, devId);
    expect(await snapshot(database.db)).toEqual(before);

    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({
      status: 'previewed',
      location_id: devId,
      remote_count: 9,
      local_active_count: 5,
      new_count: 3,
      update_count: 3,
      linked_count: 0,
      deactivate_count: 2,
      unchanged_count: 1,
      rejected_count: 1,
      guard_required: false,
      active_after_count: 5 - 2 + 3 + 1,
    });
    expect(new Date(run.expires_at as string).getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);
    // Three pages of 4, 4 and 1 rows were read.
    expect(remote.requests.filter((r) => r.path === '/api/users').map((r) => r.page)).toEqual([1, 2, 3]);

    const byKind = (kind: string) => itemsOf(database.db, runId, kind);
    expect((await byKind('new')).map((i) => i.email)).toEqual(['script@dev.test', 'boss@dev.test', 'newmixed@dev.test']);
    const updates = await byKind('update');
    expect(updates.map((i) => [i.email, i.before, i.after])).toEqual([
      ['Rename@Dev.test', { email: 'Rename@Dev.test', name: 'Old Name' }, { email: 'Rename@Dev.test', name: 'Renamed Remotely' }],
      ['dev_vendor1@dkm', { email: 'dev_vendor1@dkm', role: 'vendor' }, { email: 'dev_vendor1@dkm', role: 'manager' }],
      ['sleeper@dev.test', { email: 'sleeper@dev.test', is_active: false }, { email: 'sleeper@dev.test', is_active: true, reactivated: true }],
    ]);
    for (const item of updates) expect(item.user_updated_at).not.toBeNull();
    // Inactive remotely and missing from the list: both deactivations, each with its reason.
    const deactivations = await byKind('deactivate');
    expect(deactivations.map((i) => [i.email, reasonText(i)])).toEqual([
      ['quits@dev.test', 'inactive on DEV'],
      ['gone@dev.test', 'missing from DEV'],
    ]);
    expect(deactivations[0]).toMatchObject({
      before: { email: 'quits@dev.test', name: 'Quits', is_active: true },
      after: { email: 'quits@dev.test', is_active: false },
    });
    expect((await userOf(devId, 'gone@dev.test')).id).toBe(deactivations[1]!.user_id);
    expect((await byKind('rejected')).map((i) => [reasonText(i), i.remote_page])).toEqual([['invalid email "not-an-email"', 3]]);

    const page = await agent.get(`/admin/users/sync/${runId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-count="new">3<');
    expect(page.text).toContain('data-count="update">3<');
    expect(page.text).toContain('data-count="deactivate">2<');
    expect(page.text).toContain('data-count="unchanged">1<');
    // The unchanged user is listed, folded away.
    expect(run.unchanged_user_ids).toEqual([(await userOf(devId, 'keep1@dev.test')).id]);
    const unchangedTable = /<table[^>]*data-kind="unchanged"[\s\S]*?<\/table>/.exec(page.text)?.[0] ?? '';
    expect([...unchangedTable.matchAll(/data-email="([^"]+)"/g)].map((m) => m[1])).toEqual(['keep1@dev.test']);
    // A real heading (not inside the summary, whose button role would hide it), and the list folded.
    expect(page.text).toMatch(/<h2 id="heading-unchanged">[\s\S]*?<details>\s*<summary>/);
    expect(page.text).toContain('data-count="rejected">1<');
    expect(page.text).toContain('Renamed Remotely');
    expect(page.text).toContain('Reactivated');
    expect(page.text).toContain('invalid email &#34;not-an-email&#34;');
    expect(page.text).toContain('action="/admin/users/sync/' + runId + '/execute"');
    expect(page.text).not.toContain('name="confirm_code"');
    // The name is shown, escaped: the page carries no script of the remote's.
    expect(page.text).toContain('&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;');
    expect(page.text).not.toContain(SCRIPT_NAME);

    const log = t.logs.entries().find((e) => e.msg === 'sync preview saved');
    expect(log).toMatchObject({ runId, location: 'DEV', counts: { new: 3, update: 3, deactivate: 2, unchanged: 1, rejected: 1 } });
    expect(t.logs.text()).not.toContain(REMOTE_ENV.EXTERNAL_API_PASSWORD);
  });

  it('executes exactly the plan: the database equals the preview row by row', async () => {
    const gone = await userOf(devId, 'gone@dev.test');
    goneSessionId = 'sync-test-session-of-gone';
    await database.db('session').insert({
      sid: goneSessionId,
      sess: JSON.stringify({ cookie: {}, userId: gone.id }),
      expire: new Date(Date.now() + 3_600_000),
    });
    beforeExecute = await snapshot(database.db);
    const otherLocationsBefore = beforeExecute.filter((row) => row.location_id !== devId);

    const response = await executeSync(agent, runId);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/users/sync/${runId}`);

    await expectPlanApplied(database.db, runId, beforeExecute);
    const after = await snapshot(database.db);
    expect(after.filter((row) => row.location_id !== devId)).toEqual(otherLocationsBefore);
    expect(await userOf(devId, 'newmixed@dev.test')).toMatchObject({ name: 'Mixed Case', remote_id: '7' });
    expect(await userOf(devId, 'script@dev.test')).toMatchObject({ name: SCRIPT_NAME });
    expect(await userOf(devId, 'sleeper@dev.test')).toMatchObject({ is_active: true, deactivated_at: null });
    // Unchanged: its row is left as it was, and the run is recorded as its last sync, as User Management shows.
    const keep1 = await userOf(devId, 'keep1@dev.test');
    expect(keep1).toMatchObject({ last_synced_at: null });
    const syncedAt = (await userOf(devId, 'newmixed@dev.test')).last_synced_at as Date;
    expect(await sightingOf(database.db, devId, keep1.id)).toEqual(syncedAt);
    const listed = await agent.get('/admin/users?location=DEV');
    const keepRow = /<tr data-email="keep1@dev.test">[\s\S]*?<\/tr>/.exec(listed.text)![0];
    const newRow = /<tr data-email="newmixed@dev.test">[\s\S]*?<\/tr>/.exec(listed.text)![0];
    const lastSyncedCell = (row: string) => /<td data-label="Last synced">([^<]*)<\/td>/.exec(row)![1];
    expect(lastSyncedCell(keepRow)).not.toBe('—');
    expect(lastSyncedCell(keepRow)).toBe(lastSyncedCell(newRow));

    const run = await runRow(database.db, runId);
    const admin = await database.db('users').where({ email: TEST_ADMIN.email }).first();
    expect(run).toMatchObject({ status: 'completed', executed_by: admin.id });
    expect(run.executed_at).not.toBeNull();
    expect(run.execute_ms).not.toBeNull();

    const page = await agent.get(`/admin/users/sync/${runId}`);
    expect(page.text).toContain('Sync completed: 3 added, 3 updated, 0 linked, 2 deactivated (1 inactive on DEV, 1 missing from DEV), 1 unchanged.');
    expect(await userOf(devId, 'quits@dev.test')).toMatchObject({ is_active: false });
    expect((await userOf(devId, 'quits@dev.test')).deactivated_at).not.toBeNull();
    expect(page.text).toContain('href="/admin/users?location=DEV"');
    expect(page.text).not.toContain('/execute"');
    const log = t.logs.entries().find((e) => e.msg === 'sync executed');
    expect(log).toMatchObject({ runId, location: 'DEV', adminId: admin.id, counts: { new: 3, update: 3, deactivate: 2 } });
  });

  it('keeps dev_vendor1@dkm as two users on two locations, the other one untouched', async () => {
    const rows = await database.db('users').where({ email: 'dev_vendor1@dkm' }).orderBy('location_id');
    expect(rows.map((r) => [r.location_id, r.role, r.name])).toEqual([
      [devId, 'manager', 'Dev Vendor 1'],
      [testId, 'vendor', 'Dev Vendor 1 on TEST'],
    ]);
    expect(await userOf(testId, 'gone@dev.test')).toMatchObject({ is_active: true });
  });

  it('ends the sessions of the users it deactivated', async () => {
    expect(await database.db('session').where({ sid: goneSessionId }).first()).toBeUndefined();
    const adminSessions = await database.db('session').whereRaw(`sess->>'userId' IS NOT NULL`);
    expect(adminSessions.length).toBeGreaterThan(0);
    expect((await agent.get('/admin/users')).status).toBe(200);
  });

  it('gives a remote admin no way in: no password, no sign-in, no API token', async () => {
    const boss = await userOf(devId, 'boss@dev.test');
    expect(boss).toMatchObject({ role: 'admin', is_active: true, password_hash: null });
    const stranger = request.agent(t.app);
    const token = await csrfToken(stranger);
    const login = await stranger.post('/login').type('form').send({ email: 'boss@dev.test', password: 'anything at all', _csrf: token });
    expect(login.status).toBe(401);
    const api = await request(t.app).post('/api/auth/login').send({ email: 'boss@dev.test', password: 'anything at all' });
    expect(api.status).toBe(401);
  });

  it('lists the run in the sync history, filterable by location', async () => {
    const list = await agent.get('/admin/sync-runs');
    expect(list.status).toBe(200);
    expect(list.text).toContain(`href="/admin/users/sync/${runId}"`);
    expect(list.text).toContain('Completed');
    expect(list.text).toContain(TEST_ADMIN.email);
    const filtered = await agent.get('/admin/sync-runs?location=test');
    expect(filtered.text).not.toContain(`href="/admin/users/sync/${runId}"`);
    expect(filtered.text).toContain('No sync runs yet');
  });

  it('a second preview of the synced location finds nothing left to do', async () => {
    const second = await previewSync(agent, devId);
    expect(await runRow(database.db, second)).toMatchObject({
      new_count: 0,
      update_count: 0,
      deactivate_count: 0,
      unchanged_count: 8,
      rejected_count: 1,
    });
  });
});

describe('the preview page', () => {
  it('pages a large section 100 rows at a time', async () => {
    const big = await startLaravelServer({
      users: Array.from({ length: 230 }, (_, i) => ({ id: i + 1, name: `Big ${i + 1}`, email: `big${String(i + 1).padStart(3, '0')}@big.test` })),
    });
    try {
      const bigId = await addLocation(database.db, 'BIG', big.url);
      const runId = await previewSync(agent, bigId);
      const first = await agent.get(`/admin/users/sync/${runId}`);
      expect(first.text).toContain('big001@big.test');
      expect(first.text).toContain('big100@big.test');
      expect(first.text).not.toContain('big101@big.test');
      expect(first.text).toContain('Page 1 of 3');
      expect(first.text).toContain(`href="/admin/users/sync/${runId}?new_page=2#section-new"`);
      const third = await agent.get(`/admin/users/sync/${runId}?new_page=3`);
      expect(third.text).toContain('big230@big.test');
      expect(third.text).not.toContain('big200@big.test');
      expect(third.text).toContain('New: 201–230 of 230');
    } finally {
      await big.close();
    }
  });

  it('lists the unchanged users 100 at a time, unfolded while paging through them', async () => {
    const users = Array.from({ length: 230 }, (_, i) => ({
      id: i + 1,
      name: `Same ${i + 1}`,
      email: `same${String(i + 1).padStart(3, '0')}@same.test`,
    }));
    const same = await startLaravelServer({ users });
    try {
      const sameId = await addLocation(database.db, 'SAME', same.url);
      await insertUsers(
        database.db,
        sameId,
        users.map((u) => ({ email: u.email, name: u.name, role: null, remote_id: String(u.id) })),
      );
      const runId = await previewSync(agent, sameId);
      expect(await runRow(database.db, runId)).toMatchObject({ unchanged_count: 230, new_count: 0, update_count: 0 });
      const emailsOf = (html: string) =>
        [...(/<table[^>]*data-kind="unchanged"[\s\S]*?<\/table>/.exec(html)?.[0] ?? '').matchAll(/data-email="([^"]+)"/g)].map((m) => m[1]);

      const first = await agent.get(`/admin/users/sync/${runId}`);
      expect(emailsOf(first.text)).toEqual(users.slice(0, 100).map((u) => u.email));
      expect(first.text).toContain(`href="/admin/users/sync/${runId}?unchanged_page=2#section-unchanged"`);
      const third = await agent.get(`/admin/users/sync/${runId}?unchanged_page=3`);
      expect(emailsOf(third.text)).toEqual(users.slice(200).map((u) => u.email));
      expect(third.text).toContain('Unchanged: 201–230 of 230');
      expect(third.text).toMatch(/<h2 id="heading-unchanged">[\s\S]*?<details open>\s*<summary>/);
    } finally {
      await same.close();
    }
  });

  it('answers a run id that is not a number with 400 and an unknown one with 404', async () => {
    expect((await agent.get('/admin/users/sync/abc')).status).toBe(400);
    expect((await agent.get('/admin/users/sync/1.5')).status).toBe(400);
    expect((await agent.get('/admin/users/sync/99999999')).status).toBe(404);
    const token = await csrfToken(agent, '/admin/users');
    expect((await agent.post('/admin/users/sync/99999999/execute').type('form').send({ _csrf: token })).status).toBe(404);
  });

  it('refuses to sync the instance’s own location or an inactive one', async () => {
    const token = await csrfToken(agent, '/admin/users');
    const own = await agent
      .post('/admin/users/sync/preview')
      .type('form')
      .send({ location_id: String(t.container.ownLocation.id), _csrf: token });
    expect(own.status).toBe(400);
    expect(own.text).toContain('own location');
    const sleepyId = await addLocation(database.db, 'SLEEPY', remote.url);
    await database.db('locations').where({ id: sleepyId }).update({ is_active: false });
    const inactive = await agent
      .post('/admin/users/sync/preview')
      .type('form')
      .send({ location_id: String(sleepyId), _csrf: token });
    expect(inactive.status).toBe(400);
    expect(inactive.text).toContain('SLEEPY is inactive');
    const garbage = await agent.post('/admin/users/sync/preview').type('form').send({ location_id: 'abc', _csrf: token });
    expect(garbage.status).toBe(422);
    expect(garbage.text).toContain('<code>location_id</code>');
    expect(await database.db('sync_runs').where({ location_id: sleepyId })).toEqual([]);
  });

  it('needs a signed-in admin and a CSRF token', async () => {
    const anonymous = await request(t.app).get('/admin/users/sync/1');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.location).toMatch(/^\/login/);
    const forged = await agent
      .post('/admin/users/sync/preview')
      .type('form')
      .send({ location_id: String(devId) });
    expect(forged.status).toBe(403);
  });
});
