import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN, useTestApp, type TestApp } from '../support/app';
import { csrfToken, signedInAgent, type Agent } from '../support/browser-session';
import { snapshotTables } from '../support/db-snapshot';
import type { TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, previewSync, runRow } from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let devId: number;
let remote: LaravelServer;
/** A real preview, so that a forged Confirm & Execute would have something to apply. */
let runId: number;

const REFUSAL = 'This form has expired or did not come from Sinkron.';

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => REMOTE_ENV,
);
beforeAll(async () => {
  remote = await startLaravelServer({ users: [{ id: 1, email: 'newcomer@dev.test', name: 'Newcomer', role: 'vendor', is_active: true }] });
  devId = await addLocation(database.db, 'DEV', remote.url);
  await database.db('users').insert({ location_id: devId, email: 'someone@dev.test', name: 'Someone' });
  agent = await signedInAgent(t.app);
  runId = await previewSync(agent, devId);
  expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', new_count: 1, deactivate_count: 1 });
});
afterAll(async () => {
  await remote.close();
});

/** Every form post of the app, with fields that would change something if the post were accepted. */
function statefulPosts(): Array<[path: string, fields: Record<string, string>]> {
  return [
    ['/admin/locations', { code: 'FORGED', name: 'Forged', online_url: '' }],
    [`/admin/locations/${devId}`, { code: 'DEV', name: 'Renamed by a forged form', online_url: '' }],
    [`/admin/locations/${devId}/deactivate`, {}],
    [`/admin/locations/${devId}/test`, {}],
    ['/admin/users/sync/preview', { location_id: String(devId) }],
    [`/admin/users/sync/${runId}/execute`, { confirm_code: 'DEV' }],
    ['/logout', {}],
  ];
}

function refusalsLogged(from: number) {
  return t.logs
    .entries()
    .slice(from)
    .filter((e) => e.msg === 'request refused' && e.status === 403 && String(e.reason).startsWith(REFUSAL));
}

describe('when a form is posted without a valid CSRF token', () => {
  it('then every state-changing route answers the 403 page, logs why, and changes nothing', async () => {
    const before = await snapshotTables(database.db);
    const otherSessionToken = await csrfToken(request.agent(t.app));
    const sessionsBefore = await database.db('session').count({ n: '*' }).first();
    const logStart = t.logs.lines.length;
    let attempts = 0;

    for (const [path, fields] of statefulPosts()) {
      const variants: Array<[string, Record<string, string>]> = [
        ['missing', fields],
        ['wrong', { ...fields, _csrf: 'forged-token' }],
        ['empty', { ...fields, _csrf: '' }],
        ['from another session', { ...fields, _csrf: otherSessionToken }],
      ];
      for (const [label, body] of variants) {
        const response = await agent.post(path).type('form').send(body);
        attempts += 1;
        expect(response.status, `${path} (${label})`).toBe(403);
        expect(response.text, `${path} (${label})`).toContain(REFUSAL);
        expect(response.text).toMatch(/<h1[^>]*>Forbidden<\/h1>/);
      }
    }

    expect(refusalsLogged(logStart)).toHaveLength(attempts);
    expect(await snapshotTables(database.db)).toEqual(before);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', executed_at: null });
    // The refused logout left the admin signed in.
    expect((await agent.get('/admin/users')).status).toBe(200);
    expect(await database.db('session').count({ n: '*' }).first()).toEqual(sessionsBefore);
  });

  it('then a token in the query string or a header is not accepted in place of the form field', async () => {
    const before = await snapshotTables(database.db);
    const token = await csrfToken(agent, '/admin/locations');
    const inQuery = await agent
      .post(`/admin/locations?_csrf=${encodeURIComponent(token)}`)
      .type('form')
      .send({ code: 'QUERY', name: 'Token in URL', online_url: '' });
    const inHeader = await agent
      .post('/admin/locations')
      .set('X-CSRF-Token', token)
      .type('form')
      .send({ code: 'HEADER', name: 'Token in header', online_url: '' });
    expect(inQuery.status).toBe(403);
    expect(inHeader.status).toBe(403);
    expect(await snapshotTables(database.db)).toEqual(before);
  });

  it('then a JSON body cannot stand in for the form either', async () => {
    const before = await snapshotTables(database.db);
    const token = await csrfToken(agent, '/admin/locations');
    const response = await agent
      .post('/admin/locations')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ code: 'JSON', name: 'Posted as JSON', online_url: '', _csrf: token }));
    expect(response.status).toBe(403);
    expect(await snapshotTables(database.db)).toEqual(before);
  });

  it('then the sign-in form refuses it too, and no session is signed in', async () => {
    const stranger = request.agent(t.app);
    await stranger.get('/login');
    const logStart = t.logs.lines.length;
    const response = await stranger
      .post('/login')
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: 'forged-token' });
    expect(response.status).toBe(403);
    expect(response.text).toContain(REFUSAL);
    expect(refusalsLogged(logStart)).toHaveLength(1);
    expect(
      t.logs
        .entries()
        .slice(logStart)
        .some((e) => e.msg === 'login succeeded'),
    ).toBe(false);
    expect((await stranger.get('/admin/users')).status).toBe(303);
  });
});

describe('when the same form is posted with its token', () => {
  it('then it is accepted, which shows the refusals above are due to the token alone', async () => {
    const token = await csrfToken(agent, '/admin/locations');
    const response = await agent.post('/admin/locations').type('form').send({ code: 'REAL', name: 'Real', online_url: '', _csrf: token });
    expect(response.status).toBe(303);
    expect(await database.db('locations').where({ code: 'REAL' }).first()).toBeDefined();
  });
});
