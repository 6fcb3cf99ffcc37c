import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, useTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import { snapshotTables } from '../support/db-snapshot';
import type { TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, previewSync, runRow } from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
/** Stands for a service inside the network that a remote must not make Sinkron call. */
let internal: { url: string; hits: string[]; close(): Promise<void> };
const remotes: LaravelServer[] = [];

/** Online URLs that must never be stored nor reached, with the words the admin sees. */
const REFUSED_URLS: Array<[string, RegExp]> = [
  ['http://169.254.169.254/latest/meta-data/', /link-local, metadata or reserved address/],
  ['http://2852039166/latest/meta-data/', /link-local, metadata or reserved address/],
  ['http://[::ffff:169.254.169.254]/', /link-local, metadata or reserved address/],
  ['http://[fe80::1]/', /link-local, metadata or reserved address/],
  ['http://0.0.0.0:8080/', /link-local, metadata or reserved address/],
  ['http://100.100.100.200/', /link-local, metadata or reserved address/],
  ['file:///etc/passwd', /http:\/\/ (or|and) https:\/\//],
  ['data:text/plain,hello', /http:\/\/ (or|and) https:\/\//],
  ['javascript:alert(1)', /http:\/\/ (or|and) https:\/\//],
  ['gopher://127.0.0.1:25/', /http:\/\/ (or|and) https:\/\//],
  ['http://api:secret@127.0.0.1/', /user name or password|http:\/\/ or https:\/\//],
];

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({ ...REMOTE_ENV, REMOTE_RETRIES: '0' }),
);
beforeAll(async () => {
  agent = await signedInAgent(t.app);
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ data: [{ id: 1, email: 'internal@secret.test', name: 'Internal' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  internal = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
});
afterAll(async () => {
  await internal.close();
  await Promise.all(remotes.map((r) => r.close()));
});

describe('an online URL pointing at metadata, link-local, or another scheme', () => {
  it('when saved on a new location, then the form is refused with the reason, the log has it, and nothing is stored', async () => {
    const before = await snapshotTables(database.db);
    for (const [url, reason] of REFUSED_URLS) {
      const logStart = t.logs.lines.length;
      const response = await postForm(agent, '/admin/locations', { code: 'SSRF', name: 'SSRF', online_url: url }, '/admin/locations');
      expect(response.status, url).toBe(422);
      const shown = /<p class="field-error" id="online_url-error">([^<]*)<\/p>/.exec(response.text)?.[1];
      expect(shown, url).toMatch(reason);
      const refused = t.logs
        .entries()
        .slice(logStart)
        .find((e) => e.msg === 'location form refused');
      expect(refused, url).toBeDefined();
      expect(String((refused!.fields as Record<string, string>).online_url), url).toMatch(reason);
    }
    expect(await snapshotTables(database.db)).toEqual(before);
  });

  it('when saved on an existing location, then the old URL stays', async () => {
    const id = await addLocation(database.db, 'KEEP', 'http://127.0.0.1:9');
    const before = await snapshotTables(database.db);
    for (const [url, reason] of REFUSED_URLS) {
      const response = await postForm(
        agent,
        `/admin/locations/${id}`,
        { code: 'KEEP', name: 'Keep', online_url: url },
        `/admin/locations/${id}/edit`,
      );
      expect(response.status, url).toBe(422);
      expect(response.text, url).toMatch(reason);
    }
    expect(await snapshotTables(database.db)).toEqual(before);
  });

  it('when such a URL is already in the database, then a preview refuses to request it and says why', async () => {
    for (const [index, [url, reason]] of REFUSED_URLS.slice(0, 8).entries()) {
      const locationId = await addLocation(database.db, `OLD${index}`, url);
      const before = await snapshotTables(database.db, ['users']);
      const logStart = t.logs.lines.length;
      const runId = await previewSync(agent, locationId);
      const run = await runRow(database.db, runId);
      expect(run.status, url).toBe('failed');
      expect(run.error, url).toContain(`OLD${index}: the online URL is refused`);
      expect(run.error, url).toMatch(reason);
      const logged = t.logs
        .entries()
        .slice(logStart)
        .find((e) => e.msg === 'sync preview failed: remote list not fetched');
      expect(logged, url).toMatchObject({ runId, cause: run.error });
      expect((await agent.get(`/admin/users/sync/${runId}`)).text, url).toContain('This sync failed; no user was changed.');
      expect(await snapshotTables(database.db, ['users'])).toEqual(before);
    }
  });

  it('when Test connection is pressed for such a location, then it is refused with the reason', async () => {
    const locationId = await addLocation(database.db, 'TESTMETA', 'http://169.254.169.254/');
    const response = await postForm(agent, `/admin/locations/${locationId}/test`, {}, '/admin/locations');
    expect(response.status).toBe(303);
    const page = await agent.get('/admin/locations');
    expect(page.text).toContain('TESTMETA: the online URL is refused: 169.254.169.254 is a link-local, metadata or reserved address');
  });
});

describe('a remote that points Sinkron elsewhere', () => {
  it('when it redirects to another host, then the redirect is not followed: the other host gets no request', async () => {
    const remote = await startLaravelServer({ users: [{ id: 1, email: 'a@dev.test', name: 'A' }] });
    remotes.push(remote);
    remote.fault({ kind: 'redirect', page: 1, location: `${internal.url}/api/users?page=1` });
    const locationId = await addLocation(database.db, 'REDIR', remote.url);
    const runId = await previewSync(agent, locationId);
    const run = await runRow(database.db, runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^REDIR answered page 1 with a redirect \(HTTP 3xx\): redirects are not followed/);
    expect(internal.hits).toEqual([]);
  });

  it('when the login answer redirects, then it is not followed either', async () => {
    const redirecting = http.createServer((_req, res) => {
      res.writeHead(307, { Location: `${internal.url}/api/auth/login` });
      res.end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const locationId = await addLocation(database.db, 'LOGINREDIR', `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`);
      const runId = await previewSync(agent, locationId);
      expect((await runRow(database.db, runId)).error).toMatch(/^LOGINREDIR answered the login with a redirect \(HTTP 3xx\)/);
      expect(internal.hits).toEqual([]);
    } finally {
      await new Promise((resolve) => redirecting.close(resolve));
    }
  });

  it('when its next-page links point at another host, then Sinkron asks the remote itself and never that host', async () => {
    const remote = await startLaravelServer({
      users: [1, 2, 3].map((i) => ({ id: i, email: `u${i}@dev.test`, name: `U${i}`, is_active: true })),
      shape: 'simple',
      linkOrigin: internal.url,
    });
    remotes.push(remote);
    const app = await buildTestApp(database, { ...REMOTE_ENV, REMOTE_PER_PAGE: '1' });
    try {
      const other = await signedInAgent(app.app);
      const locationId = await addLocation(database.db, 'LINKS', remote.url);
      const runId = await previewSync(other, locationId);
      expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', remote_count: 3 });
      expect(internal.hits).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('REMOTE_ALLOWED_HOSTS', () => {
  it('when set, then a URL off the list is refused when saved and when requested', async () => {
    const restricted = await buildTestApp(database, { ...REMOTE_ENV, REMOTE_ALLOWED_HOSTS: 'sync.example.com,10.0.0.0/8' });
    try {
      const other = await signedInAgent(restricted.app);
      const before = await snapshotTables(database.db, ['locations']);
      const saved = await postForm(other, '/admin/locations', { code: 'OFFLIST', name: 'Off list', online_url: internal.url }, '/admin/locations');
      expect(saved.status).toBe(422);
      expect(saved.text).toContain('127.0.0.1 is not in REMOTE_ALLOWED_HOSTS.');
      expect(await snapshotTables(database.db, ['locations'])).toEqual(before);

      const locationId = await addLocation(database.db, 'OFFLIST2', internal.url);
      const runId = await previewSync(other, locationId);
      expect((await runRow(database.db, runId)).error).toContain('127.0.0.1 is not in REMOTE_ALLOWED_HOSTS.');
      expect(internal.hits).toEqual([]);
    } finally {
      await restricted.close();
    }
  });
});
