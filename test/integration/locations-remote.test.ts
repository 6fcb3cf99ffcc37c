import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { DEFAULT_REMOTE_CREDENTIALS, startLaravelServer, type LaravelServer } from '../support/laravel-server';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let remote: LaravelServer;

const users = Array.from({ length: 1234 }, (_, i) => ({ id: i + 1, email: `vendor${i + 1}@dkm`, name: `Vendor ${i + 1}` }));

beforeAll(async () => {
  database = await createTestDatabase();
  t = await buildTestApp(database, {
    EXTERNAL_API_EMAIL: DEFAULT_REMOTE_CREDENTIALS.email,
    EXTERNAL_API_PASSWORD: DEFAULT_REMOTE_CREDENTIALS.password,
    REMOTE_RETRIES: '0',
  });
  agent = await signedInAgent(t.app);
  remote = await startLaravelServer({ users });
});
afterAll(async () => {
  await remote.close();
  await t.close();
  await database.drop();
});

async function createLocation(code: string, onlineUrl: string) {
  return postForm(agent, '/admin/locations', { code, name: `Location ${code}`, online_url: onlineUrl }, '/admin/locations');
}

async function locationId(code: string): Promise<number> {
  return (await database.db('locations').where({ code }).first('id')).id;
}

describe('online URL checks when a location is saved', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local, metadata or reserved address/],
    ['http://[::ffff:169.254.169.254]/', /link-local, metadata or reserved address/],
    ['http://[fe80::1]/', /link-local, metadata or reserved address/],
    ['file:///etc/passwd', /absolute http:\/\/ or https:\/\/ URL/],
    ['data:text/html,hello', /absolute http:\/\/ or https:\/\/ URL/],
    ['javascript:alert(1)', /absolute http:\/\/ or https:\/\/ URL/],
  ])('refuses %s and stores nothing', async (url, message) => {
    const response = await createLocation('SSRF', url);
    expect(response.status).toBe(422);
    expect(response.text).toMatch(message);
    expect(await database.db('locations').where({ code: 'SSRF' }).first()).toBeUndefined();
  });

  it('refuses the same address when an existing location is edited', async () => {
    await createLocation('EDIT', 'http://10.0.0.5:8000');
    const id = await locationId('EDIT');
    const response = await postForm(
      agent,
      `/admin/locations/${id}`,
      { code: 'EDIT', name: 'Edit', online_url: 'http://169.254.169.254/' },
      `/admin/locations/${id}/edit`,
    );
    expect(response.status).toBe(422);
    expect((await database.db('locations').where({ id }).first()).online_url).toBe('http://10.0.0.5:8000');
  });

  it('with REMOTE_ALLOWED_HOSTS, saves only listed hosts', async () => {
    const strict = await buildTestApp(database, { REMOTE_ALLOWED_HOSTS: 'localhost,*.corp.example' });
    const strictAgent = await signedInAgent(strict.app);
    const refused = await postForm(
      strictAgent,
      '/admin/locations',
      { code: 'OFFLIST', name: 'Off list', online_url: 'http://127.0.0.1:9000' },
      '/admin/locations',
    );
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('127.0.0.1 is not in REMOTE_ALLOWED_HOSTS.');
    const accepted = await postForm(
      strictAgent,
      '/admin/locations',
      { code: 'LISTED', name: 'Listed', online_url: 'http://localhost:9000' },
      '/admin/locations',
    );
    expect(accepted.status).toBe(303);
    await strict.close();
    expect(await database.db('locations').where({ code: 'OFFLIST' }).first()).toBeUndefined();
    expect(await database.db('locations').where({ code: 'LISTED' }).first()).toBeDefined();
  });
});

describe('Test connection', () => {
  it('logs in, reads the first page and reports the user count', async () => {
    expect((await createLocation('DEV', remote.url)).status).toBe(303);
    const response = await postForm(agent, `/admin/locations/${await locationId('DEV')}/test`, {}, '/admin/locations');
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/admin/locations');
    const page = await agent.get('/admin/locations');
    expect(page.text).toContain('DEV: OK, 1,234 users');
    expect(remote.requests.filter((r) => r.path === '/api/users')).toHaveLength(1);
  });

  it('shows the exact error when the remote refuses the login', async () => {
    remote.fault({ kind: 'loginStatus', status: 401 });
    await postForm(agent, `/admin/locations/${await locationId('DEV')}/test`, {}, '/admin/locations');
    const page = await agent.get('/admin/locations');
    expect(page.text).toContain('login to DEV failed: check EXTERNAL_API_EMAIL / EXTERNAL_API_PASSWORD');
  });

  it('shows the exact error when the remote is down', async () => {
    remote.fault({ kind: 'status', status: 503, page: 1 });
    await postForm(agent, `/admin/locations/${await locationId('DEV')}/test`, {}, '/admin/locations');
    const page = await agent.get('/admin/locations');
    expect(page.text).toContain('DEV answered 503 on page 1');
  });

  it('needs a signed-in admin and a CSRF token', async () => {
    const id = await locationId('DEV');
    const before = remote.requests.length;
    const anonymous = await request(t.app).post(`/admin/locations/${id}/test`).type('form').send({});
    expect([401, 403]).toContain(anonymous.status);
    const forged = await agent.post(`/admin/locations/${id}/test`).type('form').send({ _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(remote.requests.length).toBe(before);
  });
});
