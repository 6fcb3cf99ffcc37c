import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN, useTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import { snapshotTables } from '../support/db-snapshot';
import type { TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, insertUsers, runRow, waitForRun } from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let remote: LaravelServer | undefined;

/** Fields no form of Sinkron has; a crafted post adds them hoping the server copies the body into a row. */
const SMUGGLED = {
  id: '1',
  is_active: 'false',
  created_at: '2000-01-01T00:00:00Z',
  updated_at: '2000-01-01T00:00:00Z',
  password_hash: '$argon2id$v=19$m=19456,t=2,p=1$c21hbGw$forged',
  role: 'admin',
  location_id: '1',
  email: 'intruder@evil.test',
  '__proto__[polluted]': 'yes',
  'constructor[prototype][polluted]': 'yes',
};

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => REMOTE_ENV,
);
beforeAll(async () => {
  agent = await signedInAgent(t.app);
});
afterAll(async () => {
  await remote?.close();
});

describe('mass assignment on the location forms', () => {
  it('when a new location is posted with extra fields, then only code, name and online URL are taken', async () => {
    const usersBefore = await snapshotTables(database.db, ['users']);
    const response = await postForm(
      agent,
      '/admin/locations',
      { code: 'MASS', name: 'Mass assignment', online_url: 'http://127.0.0.1:9', ...SMUGGLED },
      '/admin/locations',
    );
    expect(response.status).toBe(303);
    const row = await database.db('locations').where({ code: 'MASS' }).first();
    expect(row).toMatchObject({ code: 'MASS', name: 'Mass assignment', online_url: 'http://127.0.0.1:9', is_active: true });
    expect(row.id).not.toBe(1);
    expect(row.created_at.getUTCFullYear()).toBeGreaterThan(2000);
    expect(row.updated_at.getUTCFullYear()).toBeGreaterThan(2000);
    expect(await snapshotTables(database.db, ['users'])).toEqual(usersBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('when an existing location is saved with extra fields, then its status, id and the users stay as they were', async () => {
    const own = t.container.ownLocation;
    const before = await database.db('locations').where({ id: own.id }).first();
    const usersBefore = await snapshotTables(database.db, ['users']);
    const response = await postForm(
      agent,
      `/admin/locations/${own.id}`,
      { code: own.code, name: 'Renamed', online_url: '', ...SMUGGLED },
      `/admin/locations/${own.id}/edit`,
    );
    expect(response.status).toBe(303);
    const after = await database.db('locations').where({ id: own.id }).first();
    expect(after).toMatchObject({ id: own.id, code: own.code, name: 'Renamed', is_active: true });
    expect(after.created_at).toEqual(before.created_at);
    expect(await snapshotTables(database.db, ['users'])).toEqual(usersBefore);
  });

  it('when a field is sent twice or as an array, then the form is refused with a message and nothing is stored', async () => {
    const before = await snapshotTables(database.db);
    const token = await (async () => {
      const page = await agent.get('/admin/locations');
      return /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    })();
    const twice = await agent
      .post('/admin/locations')
      .type('form')
      .send(`_csrf=${encodeURIComponent(token)}&code=AA&code=BB&name=Twice&online_url=`);
    const bracketed = await agent
      .post('/admin/locations')
      .type('form')
      .send(`_csrf=${encodeURIComponent(token)}&code[]=CC&name=Bracket&online_url=`);
    expect(twice.status).toBe(422);
    expect(bracketed.status).toBe(422);
    expect(twice.text).toContain('id="code-error"');
    expect(bracketed.text).toContain('id="code-error"');
    expect(await snapshotTables(database.db)).toEqual(before);
  });
});

describe('mass assignment on the sign-in form', () => {
  it('when extra fields are posted with a sign-in, then the admin row is untouched', async () => {
    const before = await snapshotTables(database.db, ['users']);
    const response = await postForm(request.agent(t.app), '/login', { ...SMUGGLED, ...TEST_ADMIN, name: 'Changed by a form' }, '/login');
    expect(response.status).toBe(303);
    expect(await snapshotTables(database.db, ['users'])).toEqual(before);
  });
});

describe('mass assignment on the sync forms', () => {
  it('when a preview and an execute carry fields the forms do not have, then only location_id and confirm_code count', async () => {
    remote = await startLaravelServer({ users: [] });
    const locationId = await addLocation(database.db, 'GUARDED', remote.url);
    const otherLocationId = await addLocation(database.db, 'ELSEWHERE', remote.url);
    await insertUsers(database.db, locationId, [{ email: 'a@guarded.test' }, { email: 'b@guarded.test' }]);
    const adminId = (await database.db('users').where({ email: TEST_ADMIN.email }).first()).id;

    const preview = await postForm(agent, '/admin/users/sync/preview', {
      ...SMUGGLED,
      location_id: String(locationId),
      status: 'completed',
      previewed_by: '999',
      guard_required: 'false',
      new_count: '0',
      expires_at: '2999-01-01',
    });
    expect(preview.status).toBe(303);
    const runId = Number(/(\d+)$/.exec(preview.headers.location ?? '')![1]);
    await waitForRun(agent, runId);
    expect(await runRow(database.db, runId)).toMatchObject({
      location_id: locationId,
      status: 'previewed',
      previewed_by: adminId,
      guard_required: true,
      deactivate_count: 2,
    });

    // The remote sent no users, so Execute needs the code typed in: smuggled fields must not stand in for it.
    const before = await snapshotTables(database.db, ['users']);
    const execute = await postForm(
      agent,
      `/admin/users/sync/${runId}/execute`,
      { ...SMUGGLED, guard_required: 'false', status: 'previewed', location_id: String(otherLocationId), confirmed: 'true', code: 'GUARDED' },
      `/admin/users/sync/${runId}`,
    );
    expect(execute.status).toBe(303);
    await waitForRun(agent, runId);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', executed_by: null });
    expect(await snapshotTables(database.db, ['users'])).toEqual(before);
  });
});
