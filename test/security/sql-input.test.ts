import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import { snapshotTables } from '../support/db-snapshot';
import type { TestDatabase } from '../support/database';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let devId: number;

/** Strings that change a query's meaning when pasted into SQL instead of bound as a parameter. */
const SQL_PAYLOADS = [
  "' OR '1'='1",
  "' OR 1=1 --",
  "'; DROP TABLE users; --",
  '1; DELETE FROM users',
  "\\'; UPDATE users SET is_active = false; --",
  "' UNION SELECT password_hash, password_hash, null FROM users --",
  '$1',
  '%',
  '_',
  '\\',
  '"',
];

const emailsOn = (html: string) =>
  [...html.matchAll(/<tr data-email="([^"]+)">/g)].map((m) => m[1]!.replaceAll('&#39;', "'").replaceAll('&amp;', '&'));

useTestApp((ctx) => ({ database, t } = ctx));
beforeAll(async () => {
  const [dev] = await database.db('locations').insert({ code: 'DEV', name: 'Development', online_url: null }).returning('id');
  devId = dev.id;
  await database.db('users').insert([
    { location_id: devId, email: 'alice@dev.test', name: 'Alice' },
    { location_id: devId, email: "o'brien@dev.test", name: "Seán O'Brien" },
    { location_id: devId, email: 'bobby@dev.test', name: "Robert'); DROP TABLE users; --" },
  ]);
  agent = await signedInAgent(t.app);
});

describe('SQL-significant characters in the user list query', () => {
  it('when q, location and status carry SQL, then they only ever match as text and nothing changes', async () => {
    const before = await snapshotTables(database.db);
    for (const payload of SQL_PAYLOADS) {
      for (const param of ['q', 'location', 'status', 'page']) {
        const response = await agent.get('/admin/users').query({ [param]: payload });
        // A status that is not one of its values is refused with the field named (422); a bad page falls back to page 1.
        if (param === 'status') expect(response.status, `status=${JSON.stringify(payload)}`).toBe(422);
        if (param === 'page') expect(response.status, `page=${JSON.stringify(payload)}`).toBe(200);
        if (response.status === 422) expect(response.text).toContain(`<code>${param}</code>`);
        expect([200, 422], `${param}=${JSON.stringify(payload)}`).toContain(response.status);
        expect(response.text).not.toMatch(/Something went wrong|syntax error|unterminated|\$argon2/i);
        if (response.status === 200 && (param === 'q' || param === 'location')) {
          // Nothing here holds these strings as text, so a wider match would mean the SQL ran.
          expect(emailsOn(response.text), `${param}=${JSON.stringify(payload)}`).not.toContain('alice@dev.test');
        }
      }
    }
    expect(await snapshotTables(database.db)).toEqual(before);
  });

  it('when q holds a quote or SQL that is really in the data, then exactly those users are found', async () => {
    expect(emailsOn((await agent.get('/admin/users').query({ q: "O'Brien" })).text)).toEqual(["o'brien@dev.test"]);
    expect(emailsOn((await agent.get('/admin/users').query({ q: 'DROP TABLE users' })).text)).toEqual(['bobby@dev.test']);
  });

  it('when a filter is sent as an array or an object, then it is refused with 422 naming the field, never a 500', async () => {
    const arrays = await agent.get('/admin/users?q=a&q=b&location[]=DEV&status[$ne]=x&page[]=2');
    expect(arrays.status).toBe(422);
    // Two values of q: a form never sends that, so it is refused naming the field.
    expect(arrays.text).toContain('<code>q</code>');
    expect(arrays.status).not.toBe(500);
  });
});

describe('a NUL character, which PostgreSQL text cannot hold', () => {
  it('when it comes in a query, a form or a sign-in, then the answer is a 400 page that says so, never a 500', async () => {
    const before = await snapshotTables(database.db);
    const logStart = t.logs.lines.length;
    const responses = [
      await agent.get('/admin/users').query({ q: 'a\u0000b' }),
      await agent.get('/admin/users').query({ location: 'DEV\u0000' }),
      await postForm(agent, '/admin/locations', { code: 'NUL', name: 'a\u0000b', online_url: '' }, '/admin/locations'),
      await postForm(request.agent(t.app), '/login', { email: 'admin\u0000@sinkron.test', password: 'x' }, '/login'),
    ];
    for (const response of responses) {
      expect(response.status).toBe(400);
      expect(response.text).toContain('The request contains a NUL character, which no field accepts.');
    }
    const refused = t.logs
      .entries()
      .slice(logStart)
      .filter((e) => e.msg === 'request refused' && String(e.reason).includes('NUL'));
    expect(refused).toHaveLength(responses.length);
    expect(
      t.logs
        .entries()
        .slice(logStart)
        .some((e) => e.msg === 'unhandled error'),
    ).toBe(false);
    expect(await snapshotTables(database.db)).toEqual(before);
  });

  it('when it comes in an API sign-in, then the answer is the usual 401, never a 500', async () => {
    const response = await request(t.app).post('/api/auth/login').send({ email: 'admin\u0000@sinkron.test', password: 'guess' });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'Invalid email or password.' });
  });
});

describe('ids in the path that are not integers', () => {
  const BAD_IDS = [
    '1 OR 1=1',
    "1'",
    '1;DROP TABLE users',
    '-1',
    '0',
    '1.5',
    '1.0',
    '1e0',
    '1e1',
    '0x1',
    '0x10',
    '+1',
    ' 1',
    '01',
    '99999999999',
    'NaN',
    'Infinity',
    '%00',
  ];

  it('when a location id is not a positive integer, then the answer is 400 or 404, never another location', async () => {
    const before = await snapshotTables(database.db);
    for (const id of BAD_IDS) {
      const response = await agent.get(`/admin/locations/${encodeURIComponent(id)}/edit`);
      expect([400, 404], `id ${JSON.stringify(id)}`).toContain(response.status);
      expect(response.text).not.toContain('Edit location');
    }
    for (const id of BAD_IDS) {
      const response = await postForm(agent, `/admin/locations/${encodeURIComponent(id)}/deactivate`, {}, '/admin/locations');
      expect([400, 404], `id ${JSON.stringify(id)}`).toContain(response.status);
    }
    expect(await snapshotTables(database.db)).toEqual(before);
  });

  it('when a refused id comes in, then the admin is told and the log says why', async () => {
    const logStart = t.logs.lines.length;
    const response = await agent.get(`/admin/locations/${encodeURIComponent('1 OR 1=1')}/edit`);
    expect(response.status).toBe(400);
    expect(response.text).toContain('The request could not be understood.');
    const refused = t.logs
      .entries()
      .slice(logStart)
      .find((e) => e.msg === 'request refused');
    expect(refused).toMatchObject({ status: 400 });
  });

  it('when a sync run id or a location_id is not an integer, then 400 or 404, never run or location 1', async () => {
    const [run] = await database.db('sync_runs').insert({ location_id: devId, status: 'failed', error: 'kept for this test' }).returning('id');
    expect(run.id).toBe(1);
    expect((await agent.get('/admin/users/sync/1')).status).toBe(200);
    const before = await snapshotTables(database.db);
    for (const id of BAD_IDS) {
      const page = await agent.get(`/admin/users/sync/${encodeURIComponent(id)}`);
      expect([400, 404], `run id ${JSON.stringify(id)}`).toContain(page.status);
      const execute = await postForm(agent, `/admin/users/sync/${encodeURIComponent(id)}/execute`, {}, '/admin/users');
      expect([400, 404], `execute run id ${JSON.stringify(id)}`).toContain(execute.status);
      const preview = await postForm(agent, '/admin/users/sync/preview', { location_id: id }, '/admin/users');
      // A location_id is a form value: refused as such (422), naming the field.
      expect(preview.status, `location_id ${JSON.stringify(id)}`).toBe(422);
      expect(preview.text).toContain('<code>location_id</code>');
    }
    expect(await snapshotTables(database.db)).toEqual(before);
  });
});

describe('SQL-significant characters in form fields', () => {
  it('when a location name holds SQL, then it is stored as the text typed', async () => {
    const name = "Robert'); DROP TABLE locations; --";
    const response = await postForm(agent, '/admin/locations', { code: 'SQLNAME', name, online_url: '' }, '/admin/locations');
    expect(response.status).toBe(303);
    expect((await database.db('locations').where({ code: 'SQLNAME' }).first()).name).toBe(name);
    expect(await database.db('users').count({ n: '*' }).first()).toEqual({ n: 4 });
  });

  it('when a location code holds SQL, then the form is refused with a message and nothing is stored', async () => {
    const before = await snapshotTables(database.db);
    const response = await postForm(
      agent,
      '/admin/locations',
      { code: "X'; DROP TABLE users; --", name: 'Bad code', online_url: '' },
      '/admin/locations',
    );
    expect(response.status).toBe(422);
    expect(response.text).toContain('Use 1 to 32 letters, digits, _ or -.');
    expect(await snapshotTables(database.db)).toEqual(before);
  });
});
