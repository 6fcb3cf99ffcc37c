import net from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_ADMIN, useTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';
import { DEFAULT_REMOTE_CREDENTIALS, startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { confirmLocation } from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let remote: LaravelServer;

const users = Array.from({ length: 1234 }, (_, i) => ({ id: i + 1, email: `vendor${i + 1}@dkm`, name: `Vendor ${i + 1}` }));

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({
    EXTERNAL_API_EMAIL: DEFAULT_REMOTE_CREDENTIALS.email,
    EXTERNAL_API_PASSWORD: DEFAULT_REMOTE_CREDENTIALS.password,
    REMOTE_RETRIES: '0',
  }),
);
beforeAll(async () => {
  agent = await signedInAgent(t.app);
  remote = await startLaravelServer({ users });
});
afterAll(async () => {
  await remote.close();
});

/**
 * The box an admin ticks to save a URL other locations use (the tests' remotes serve several locations on
 * purpose): their codes, in code order.
 */
async function sameUrlOk(onlineUrl: string, exceptId = 0): Promise<string> {
  const codes: string[] = await database.db('locations').where({ online_url: onlineUrl }).whereNot({ id: exceptId }).orderBy('code').pluck('code');
  return codes.join(',');
}

async function createLocation(code: string, onlineUrl: string) {
  const fields = { code, name: `Location ${code}`, online_url: onlineUrl, same_url_ok: await sameUrlOk(onlineUrl) };
  return postForm(agent, '/admin/locations', fields, '/admin/locations');
}

/** Creates the location and confirms its URL with the admin's password, as on the Locations page. */
async function createConfirmedLocation(code: string, onlineUrl: string) {
  const created = await createLocation(code, onlineUrl);
  if (created.status !== 303) return created;
  const id = await locationId(code);
  return postForm(agent, `/admin/locations/${id}/confirm-url`, { online_url: onlineUrl, code, password: TEST_ADMIN.password }, '/admin/locations');
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
    expect((await createConfirmedLocation('DEV', remote.url)).status).toBe(303);
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

  it('shows the status class when the remote is down, and logs the exact status', async () => {
    remote.fault({ kind: 'status', status: 503, page: 1 });
    await postForm(agent, `/admin/locations/${await locationId('DEV')}/test`, {}, '/admin/locations');
    const page = await agent.get('/admin/locations');
    // The flash alone: the page's tokens and the remote's random port may hold the digits 503.
    const alerts = [...page.text.matchAll(/<div class="alert [^>]*>([^<]*)<\/div>/g)].map((m) => m[1]!).join('\n');
    expect(alerts).toContain('DEV answered HTTP 5xx on page 1');
    expect(alerts).not.toContain('503');
    expect(
      t.logs
        .entries()
        .filter((e) => e.msg === 'remote connection test failed')
        .at(-1),
    ).toMatchObject({ remoteStatus: 503, detail: 'status 503' });
  });

  it('says "could not connect" alike for a refused port and a reset connection; only the log tells them apart (L7)', async () => {
    const closed = await startLaravelServer({ users: [] });
    const closedUrl = closed.url;
    await closed.close();
    const resetting = net.createServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    try {
      const resetUrl = `http://127.0.0.1:${(resetting.address() as net.AddressInfo).port}`;
      const shown: string[] = [];
      for (const [code, url] of [
        ['REFUSED', closedUrl],
        ['RESET', resetUrl],
      ] as const) {
        expect((await createConfirmedLocation(code, url)).status).toBe(303);
        await postForm(agent, `/admin/locations/${await locationId(code)}/test`, {}, '/admin/locations');
        const page = await agent.get('/admin/locations');
        const flash = /could not connect to [A-Z]+[^<]*/.exec(page.text)?.[0];
        expect(flash, code).toBe(`could not connect to ${code} on the login`);
        expect(page.text).not.toContain('ECONN');
        shown.push(flash!.replace(code, 'X'));
      }
      expect(shown[0]).toBe(shown[1]);
      const details = t.logs
        .entries()
        .filter((e) => e.msg === 'remote connection test failed')
        .slice(-2)
        .map((e) => e.detail);
      expect(details).toEqual(['ECONNREFUSED', 'ECONNRESET']);
    } finally {
      await new Promise((resolve) => resetting.close(resolve));
    }
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

describe('credentials only where they belong (M4)', () => {
  it('when a location is plain http to a host that is not loopback nor listed, then no credential is sent and the page says why', async () => {
    const id = (
      await database.db('locations').insert({ code: 'PLAIN', name: 'Plain', online_url: 'http://sync.example.invalid:8000' }).returning('id')
    )[0].id;
    await confirmLocation(database.db, id);
    await postForm(agent, `/admin/locations/${id}/test`, {}, '/admin/locations');
    const page = await agent.get('/admin/locations');
    expect(page.text).toContain('PLAIN: the online URL is plain http, and Sinkron sends credentials only over https');
  });

  it('when an admin changes a location’s URL, then the credential goes there only after an admin confirms it with their password, and the change is logged with who made it', async () => {
    const elsewhere = await startLaravelServer({ users: [{ id: 1, email: 'x@elsewhere.test', name: 'X' }] });
    try {
      expect((await createConfirmedLocation('MOVED', remote.url)).status).toBe(303);
      const id = await locationId('MOVED');
      const adminId = (await database.db('users').where({ email: TEST_ADMIN.email }).first('id')).id;
      const edit = await postForm(
        agent,
        `/admin/locations/${id}`,
        { code: 'MOVED', name: 'Moved', online_url: elsewhere.url },
        `/admin/locations/${id}/edit`,
      );
      expect(edit.status).toBe(303);
      expect(
        t.logs
          .entries()
          .filter((e) => e.msg === 'location online URL changed')
          .at(-1),
      ).toMatchObject({
        locationId: id,
        userId: adminId,
        from: remote.url,
        to: elsewhere.url,
      });

      await postForm(agent, `/admin/locations/${id}/test`, {}, '/admin/locations');
      let page = await agent.get('/admin/locations');
      expect(page.text).toContain('MOVED&#39;s online URL is not confirmed: an admin must confirm on the Locations page');
      expect(page.text).toContain(`The URL changed: confirm that MOVED&#39;s credential may go to ${elsewhere.url}.`);
      expect(page.text).toContain('Confirm URL');
      expect(elsewhere.requests).toHaveLength(0);

      const wrong = await postForm(
        agent,
        `/admin/locations/${id}/confirm-url`,
        { online_url: elsewhere.url, code: 'MOVED', password: 'not my password' },
        '/admin/locations',
      );
      expect(wrong.status).toBe(403);
      expect(wrong.text).toContain('Wrong password: the online URL is not confirmed.');
      await postForm(agent, `/admin/locations/${id}/test`, {}, '/admin/locations');
      expect(elsewhere.requests).toHaveLength(0);

      const confirmed = await postForm(
        agent,
        `/admin/locations/${id}/confirm-url`,
        { online_url: elsewhere.url, code: 'MOVED', password: TEST_ADMIN.password },
        '/admin/locations',
      );
      expect(confirmed.status).toBe(303);
      expect(
        t.logs
          .entries()
          .filter((e) => e.msg === 'location online URL confirmed')
          .at(-1),
      ).toMatchObject({ locationId: id, userId: adminId, url: elsewhere.url });
      await postForm(agent, `/admin/locations/${id}/test`, {}, '/admin/locations');
      page = await agent.get('/admin/locations');
      expect(page.text).toContain('MOVED: OK, 1 user');
      expect(elsewhere.requests.filter((r) => r.path === '/api/auth/login')).toHaveLength(1);
      expect(t.logs.text()).not.toContain('not my password');
    } finally {
      await elsewhere.close();
    }
  });
});
