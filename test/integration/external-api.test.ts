import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config';
import type { Location } from '../../src/locations/locations.queries';
import { ExternalApiService } from '../../src/remote/external-api.service';
import { RemoteApiError } from '../../src/remote/remote-api-errors';
import type { RemoteUserPage } from '../../src/remote/remote-users';
import { createUrlPolicy } from '../../src/locations/url-policy';
import { buildTestApp, createApiAccount, listen, TEST_ADMIN, TEST_API_ACCOUNT, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { DEFAULT_REMOTE_CREDENTIALS, startLaravelServer, type LaravelServer, type LaravelServerOptions } from '../support/laravel-server';
import { captureLogs } from '../support/logs';

const logs = captureLogs();
const servers: LaravelServer[] = [];
const issuedTokens: string[] = [];

const BASE_ENV = {
  NODE_ENV: 'test',
  DEMO: '0',
  EXTERNAL_API_EMAIL: DEFAULT_REMOTE_CREDENTIALS.email,
  EXTERNAL_API_PASSWORD: DEFAULT_REMOTE_CREDENTIALS.password,
  REMOTE_PER_PAGE: '10',
  REMOTE_RETRIES: '2',
  REMOTE_RETRY_BASE_MS: '10',
  REMOTE_TIMEOUT_MS: '300',
  REMOTE_MAX_BYTES: String(256 * 1024),
};

function service(env: Record<string, string> = {}): ExternalApiService {
  const config = loadConfig({ ...BASE_ENV, ...env });
  return new ExternalApiService({ remote: config.remote, urlPolicy: createUrlPolicy(config.remote.allowedHosts), logger: logs.logger });
}

const locationAt = (onlineUrl: string | null, code = 'DEV'): Location => ({
  id: 1,
  code,
  name: code,
  onlineUrl,
  onlineUrlConfirmed: true,
  confirmationNeeded: null,
  driftCron: null,
  isActive: true,
  createdAt: new Date(),
  updatedAt: new Date(),
});

const makeUsers = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    name: `Dev Vendor ${i + 1}`,
    email: ` Dev_Vendor${i + 1}@DKM `,
    role: 'vendor',
    is_active: true,
    updated_at: '2025-11-08T10:00:00.000000Z',
  }));

async function remote(options: Partial<LaravelServerOptions> = {}): Promise<LaravelServer> {
  const server = await startLaravelServer({ users: makeUsers(25), ...options });
  servers.push(server);
  return server;
}

async function collect(source: AsyncIterable<RemoteUserPage>): Promise<RemoteUserPage[]> {
  const pages: RemoteUserPage[] = [];
  for await (const page of source) pages.push(page);
  return pages;
}

async function failure(source: AsyncIterable<RemoteUserPage>): Promise<RemoteApiError> {
  try {
    await collect(source);
  } catch (error) {
    expect(error).toBeInstanceOf(RemoteApiError);
    return error as RemoteApiError;
  }
  throw new Error('the fetch did not fail');
}

const usersRequests = (server: LaravelServer) => server.requests.filter((r) => r.path === '/api/users');
const logins = (server: LaravelServer) => server.requests.filter((r) => r.path === '/api/auth/login');

afterEach(() => {
  for (const server of servers) issuedTokens.push(...server.issuedTokens);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('ExternalApiService against a Laravel server', () => {
  it.each(['resource', 'paginate', 'simple', 'cursor', 'cursorResource'] as const)(
    'reads every page of the %s shape in order, with emails normalised',
    async (shape) => {
      const server = await remote({ shape });
      const pages = await collect(service().fetchUsers(locationAt(server.url)));
      expect(pages.map((p) => p.page)).toEqual([1, 2, 3]);
      expect(pages.map((p) => p.users.length)).toEqual([10, 10, 5]);
      const users = pages.flatMap((p) => p.users);
      expect(users[0]).toEqual({ email: 'dev_vendor1@dkm', name: 'Dev Vendor 1', remoteId: '1', role: 'vendor', isActive: true });
      expect(new Set(users.map((u) => u.email)).size).toBe(25);
      expect(logins(server)).toHaveLength(1);
      expect(usersRequests(server)).toHaveLength(3);
    },
  );

  it('reads a bare array in one request', async () => {
    const server = await remote({ shape: 'array' });
    const pages = await collect(service().fetchUsers(locationAt(server.url)));
    expect(pages).toHaveLength(1);
    expect(pages[0]!.users).toHaveLength(25);
    expect(usersRequests(server)).toHaveLength(1);
  });

  it('fetches the pages of a known last page a few at a time and still yields them in order', async () => {
    const server = await remote({ users: makeUsers(95) });
    const pages = await collect(service({ REMOTE_CONCURRENCY: '3' }).fetchUsers(locationAt(server.url)));
    expect(pages.map((p) => p.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(pages.flatMap((p) => p.users.map((u) => u.remoteId))).toEqual(Array.from({ length: 95 }, (_, i) => String(i + 1)));
    expect(
      usersRequests(server)
        .map((r) => r.page)
        .sort((a, b) => a! - b!),
    ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('accepts `token` instead of `access_token` and a login without expires_in', async () => {
    const server = await remote({ tokenField: 'token', omitExpiresIn: true, shape: 'simple' });
    const pages = await collect(service().fetchUsers(locationAt(server.url)));
    expect(pages.flatMap((p) => p.users)).toHaveLength(25);
    expect(usersRequests(server).every((r) => r.authorization === `Bearer ${server.issuedTokens[0]}`)).toBe(true);
  });

  it('reads is_active as a boolean, 0/1 or "0"/"1", and reports unusable rows with their page', async () => {
    const server = await remote({
      users: [
        { id: 1, email: 'zero@dkm', is_active: 0 },
        { id: 2, email: 'one@dkm', is_active: 1 },
        { id: 3, email: 'zero-text@dkm', is_active: '0' },
        { id: 4, email: 'one-text@dkm', is_active: '1' },
        { id: 5, email: 'missing@dkm' },
        { id: 6, email: 'not an email' },
        { id: 7, name: 'no email' },
      ],
    });
    const [page] = await collect(service().fetchUsers(locationAt(server.url)));
    expect(Object.fromEntries(page!.users.map((u) => [u.email, u.isActive]))).toEqual({
      'zero@dkm': false,
      'one@dkm': true,
      'zero-text@dkm': false,
      'one-text@dkm': true,
      'missing@dkm': true,
    });
    expect(page!.rejected.map((r) => [r.page, r.reason])).toEqual([
      [1, 'invalid email "not an email"'],
      [1, 'email is missing'],
    ]);
  });

  it('asks for page N+1 itself when the next link points at another origin', async () => {
    const server = await remote({ shape: 'simple', linkOrigin: 'http://127.0.0.2:9' });
    const pages = await collect(service().fetchUsers(locationAt(server.url)));
    expect(pages.flatMap((p) => p.users)).toHaveLength(25);
    expect(usersRequests(server).map((r) => r.page)).toEqual([1, 2, 3]);
  });

  it.each(['root', 'page'] as const)('follows next links written relative (%s), read against the page they came in', async (relativeLinks) => {
    const server = await remote({ shape: 'simple', relativeLinks });
    const pages = await collect(service().fetchUsers(locationAt(server.url)));
    expect(pages.flatMap((p) => p.users)).toHaveLength(25);
    expect(server.requests.filter((r) => r.method === 'GET').map((r) => [r.path, r.page])).toEqual([
      ['/api/users', 1],
      ['/api/users', 2],
      ['/api/users', 3],
    ]);
  });

  it('keeps the online URL’s path prefix', async () => {
    const server = await remote();
    const pages = await collect(service().fetchUsers(locationAt(`${server.url}/`)));
    expect(pages).toHaveLength(3);
  });

  it('tests a connection: logs in and reads the first page', async () => {
    const full = await remote();
    const simple = await remote({ shape: 'simple' });
    expect(await service().testConnection(locationAt(full.url))).toEqual({ total: 25, firstPageCount: 10 });
    expect(await service().testConnection(locationAt(simple.url))).toEqual({ total: null, firstPageCount: 10 });
    expect(usersRequests(full)).toHaveLength(1);
  });
});

describe('ExternalApiService failures', () => {
  it.each([401, 422])('reports a %s at login as a credentials problem, never with the password', async (status) => {
    const server = await remote();
    server.fault({ kind: 'loginStatus', status });
    const error = await failure(service().fetchUsers(locationAt(server.url)));
    expect(error.kind).toBe('auth');
    expect(error.message).toBe('login to DEV failed: check EXTERNAL_API_EMAIL / EXTERNAL_API_PASSWORD');
    expect(usersRequests(server)).toHaveLength(0);
  });

  it('names the per-location variables when those are the credentials in use', async () => {
    const server = await remote();
    const error = await failure(
      service({ EXTERNAL_API_DEV_EMAIL: 'api@remote.test', EXTERNAL_API_DEV_PASSWORD: 'a wrong password' }).fetchUsers(locationAt(server.url)),
    );
    expect(error.message).toBe('login to DEV failed: check EXTERNAL_API_DEV_EMAIL / EXTERNAL_API_DEV_PASSWORD');
  });

  it('refuses to start without credentials, naming the variables to set', async () => {
    const server = await remote();
    const config = loadConfig({ NODE_ENV: 'test', DEMO: '0' });
    const api = new ExternalApiService({ remote: config.remote, urlPolicy: createUrlPolicy([]), logger: logs.logger });
    const error = await failure(api.fetchUsers(locationAt(server.url)));
    expect(error.kind).toBe('auth');
    expect(error.message).toMatch(/EXTERNAL_API_EMAIL .*EXTERNAL_API_DEV_EMAIL/);
    expect(server.requests).toHaveLength(0);
  });

  it('logs in again once when the token expires mid-way, and completes', async () => {
    const server = await remote({ shape: 'simple' });
    server.fault({ kind: 'expireTokens', page: 2 });
    const pages = await collect(service().fetchUsers(locationAt(server.url)));
    expect(pages.flatMap((p) => p.users)).toHaveLength(25);
    expect(logins(server)).toHaveLength(2);
    expect(usersRequests(server).map((r) => r.page)).toEqual([1, 2, 2, 3]);
  });

  it('fails with an auth error when the fresh token is refused too', async () => {
    const server = await remote();
    server.fault({ kind: 'status', status: 401, page: 2, times: 2 });
    const error = await failure(service().fetchUsers(locationAt(server.url)));
    expect(error.kind).toBe('auth');
    expect(error.page).toBe(2);
    expect(error.message).toMatch(/^login to DEV failed: check EXTERNAL_API_EMAIL \/ EXTERNAL_API_PASSWORD \(page 2/);
    expect(logins(server)).toHaveLength(2);
  });

  it('names location, page and status of a 500 after its retries, having yielded no page after it', async () => {
    const server = await remote();
    server.fault({ kind: 'status', status: 500, page: 3, times: 10 });
    const yielded: number[] = [];
    const error = await failure(
      (async function* () {
        for await (const page of service().fetchUsers(locationAt(server.url))) {
          yielded.push(page.page);
          yield page;
        }
      })(),
    );
    expect(error).toMatchObject({ kind: 'http', page: 3, locationCode: 'DEV', remoteStatus: 500, status: 502, expected: true });
    expect(error.message).toBe('DEV answered HTTP 5xx on page 3 (after 2 retries)');
    expect(
      logs
        .entries()
        .filter((e) => e.msg === 'remote users fetch failed')
        .at(-1),
    ).toMatchObject({ detail: 'status 500', remoteStatus: 500 });
    expect(usersRequests(server).filter((r) => r.page === 3)).toHaveLength(3);
    expect(yielded).toEqual([1, 2]);
  });

  it('does not retry a 404 on a page', async () => {
    const server = await remote({ shape: 'simple' });
    server.fault({ kind: 'status', status: 404, page: 2 });
    const error = await failure(service().fetchUsers(locationAt(server.url)));
    expect(error.message).toBe('DEV answered HTTP 4xx on page 2');
    expect(usersRequests(server).filter((r) => r.page === 2)).toHaveLength(1);
  });

  it('waits as a 429’s Retry-After asks, then completes', async () => {
    const server = await remote({ shape: 'simple' });
    server.fault({ kind: 'status', status: 429, page: 2, retryAfterSeconds: 1 });
    server.fault({ kind: 'status', status: 503, page: 3 });
    const pages = await collect(service().fetchUsers(locationAt(server.url)));
    expect(pages.flatMap((p) => p.users)).toHaveLength(25);
    expect(usersRequests(server).map((r) => r.page)).toEqual([1, 2, 2, 3, 3]);
    expect(logs.text()).toMatch(/"cause":"429"/);
  });

  it('retries a page whose connection was reset, then completes', async () => {
    const server = await remote({ shape: 'simple' });
    server.fault({ kind: 'reset', page: 2 });
    const pages = await collect(service().fetchUsers(locationAt(server.url)));
    expect(pages.flatMap((p) => p.users)).toHaveLength(25);
    expect(usersRequests(server).map((r) => r.page)).toEqual([1, 2, 2, 3]);
  });

  it('names the reset after its retries', async () => {
    const server = await remote({ shape: 'simple' });
    server.fault({ kind: 'reset', page: 2, times: 5 });
    const error = await failure(service({ REMOTE_RETRIES: '1' }).fetchUsers(locationAt(server.url)));
    expect(error).toMatchObject({ kind: 'unreachable', page: 2 });
    expect(error.message).toBe('could not connect to DEV on page 2 (after 1 retries)');
    expect(error.detail).toBe('ECONNRESET');
  });

  it('gives up on a page that hangs past the request timeout', async () => {
    const server = await remote({ shape: 'simple' });
    server.fault({ kind: 'hang', page: 2, times: 5 });
    const error = await failure(service({ REMOTE_RETRIES: '1' }).fetchUsers(locationAt(server.url)));
    expect(error).toMatchObject({ kind: 'timeout', page: 2 });
    expect(error.message).toBe('could not connect to DEV on page 2 (after 1 retries)');
    expect(error.detail).toBe('no answer within 0.3 s (REMOTE_TIMEOUT_MS)');
  });

  it('stops at the overall deadline', async () => {
    const server = await remote({ shape: 'simple' });
    server.fault({ kind: 'hang', page: 2, times: 5 });
    const error = await failure(service({ REMOTE_TIMEOUT_MS: '5000', REMOTE_DEADLINE_MS: '400' }).fetchUsers(locationAt(server.url)));
    expect(error.kind).toBe('timeout');
    expect(error.message).toMatch(/^DEV did not deliver every page within 0.4 s \(REMOTE_DEADLINE_MS; stopped at page 2\)/);
  });

  it('reports an HTML page answered with 200 as not the users API', async () => {
    const server = await remote();
    server.fault({ kind: 'html', page: 2 });
    const error = await failure(service().fetchUsers(locationAt(server.url)));
    expect(error).toMatchObject({ kind: 'protocol', page: 2 });
    expect(error.message).toBe('DEV answered with something that is not the users API (HTTP 2xx) on page 2');
    expect(error.detail).toBe('text/html, status 200');
  });

  it('reports an HTML answer to the login as not the users API', async () => {
    const server = await startLaravelServer({ users: [] });
    servers.push(server);
    const html = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>Sign in</body></html>');
    });
    await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
    const error = await failure(service().fetchUsers(locationAt(url)));
    await new Promise((resolve) => html.close(resolve));
    expect(error.message).toBe('DEV answered with something that is not the users API (HTTP 2xx) on the login');
  });

  it('reports malformed JSON', async () => {
    const server = await remote();
    server.fault({ kind: 'malformedJson', page: 1 });
    const error = await failure(service().fetchUsers(locationAt(server.url)));
    expect(error).toMatchObject({ kind: 'protocol', page: 1 });
    expect(error.message).toBe('DEV answered with malformed JSON (HTTP 2xx) on page 1');
  });

  it('reports JSON of another shape', async () => {
    const server = await remote();
    server.fault({ kind: 'wrongShape', page: 1 });
    const error = await failure(service().fetchUsers(locationAt(server.url)));
    expect(error).toMatchObject({ kind: 'protocol', page: 1 });
    expect(error.message).toMatch(/^DEV answered page 1 with JSON that is not a users page/);
  });

  it('stops reading a body over REMOTE_MAX_BYTES', async () => {
    const server = await remote({ shape: 'simple' });
    server.fault({ kind: 'oversize', page: 2, bytes: 2 * 1024 * 1024 });
    const error = await failure(service().fetchUsers(locationAt(server.url)));
    expect(error).toMatchObject({ kind: 'too_large', page: 2 });
    expect(error.message).toBe('DEV sent more than 0.3 MB on page 2 (REMOTE_MAX_BYTES)');
  });

  it('refuses a redirect to another host', async () => {
    const server = await remote();
    server.fault({ kind: 'redirect', page: 1, location: 'http://169.254.169.254/latest/meta-data/' });
    const error = await failure(service().fetchUsers(locationAt(server.url)));
    expect(error).toMatchObject({ kind: 'refused_url', page: 1 });
    expect(error.message).toMatch(/^DEV answered page 1 with a redirect \(HTTP 3xx\): redirects are not followed/);
    expect(error.detail).toBe('status 302 to http://169.254.169.254');
  });

  it.each(['resource', 'simple', 'cursor'] as const)('refuses a %s server that loops', async (shape) => {
    const server = await remote({ shape });
    server.fault({ kind: 'loop' });
    const error = await failure(service().fetchUsers(locationAt(server.url)));
    expect(error).toMatchObject({ kind: 'protocol', page: 2 });
    expect(error.message).toBe('DEV sent the same users on page 2 as on page 1: the server is looping, so the list was not used');
  });

  it.each(['resource', 'simple'] as const)('refuses a %s list longer than REMOTE_MAX_PAGES', async (shape) => {
    const server = await remote({ shape });
    const error = await failure(service({ REMOTE_MAX_PAGES: '2' }).fetchUsers(locationAt(server.url)));
    expect(error.kind).toBe('protocol');
    expect(error.message).toBe('DEV has more than 2 pages of users (REMOTE_MAX_PAGES), so the list was not used');
    expect(usersRequests(server).length).toBeLessThanOrEqual(2);
  });

  it('reports a server that is not there', async () => {
    const server = await startLaravelServer({ users: [] });
    const { url } = server;
    await server.close();
    const error = await failure(service().fetchUsers(locationAt(url)));
    expect(error.kind).toBe('unreachable');
    expect(error.message).toBe('could not connect to DEV on the login');
    expect(error.detail).toBe('ECONNREFUSED');
  });

  it('refuses a metadata address before connecting, and a host off the allow-list', async () => {
    const metadata = await failure(service().fetchUsers(locationAt('http://169.254.169.254/')));
    expect(metadata.kind).toBe('refused_url');
    expect(metadata.message).toMatch(/^DEV: the online URL is refused: 169\.254\.169\.254 is a link-local/);

    const server = await remote();
    const offList = await failure(service({ REMOTE_ALLOWED_HOSTS: 'sync.example.com' }).fetchUsers(locationAt(server.url)));
    expect(offList.message).toBe('DEV: the online URL is refused: 127.0.0.1 is not in REMOTE_ALLOWED_HOSTS.');
    expect(server.requests).toHaveLength(0);
  });

  it('checks the address a host name resolves to when connecting', async () => {
    const server = await remote();
    const port = new URL(server.url).port;
    const refused = await failure(service({ REMOTE_ALLOWED_HOSTS: '10.0.0.0/8' }).fetchUsers(locationAt(`http://localhost:${port}`)));
    expect(refused.kind).toBe('refused_url');
    expect(refused.message).toMatch(/^DEV: the online URL is refused: localhost \((127\.0\.0\.1|::1)\) is not in REMOTE_ALLOWED_HOSTS\.$/);
    expect(server.requests).toHaveLength(0);

    const allowed = await collect(service({ REMOTE_ALLOWED_HOSTS: '127.0.0.0/8' }).fetchUsers(locationAt(`http://localhost:${port}`)));
    expect(allowed.flatMap((p) => p.users)).toHaveLength(25);
  });

  it('never logs the password or a token', () => {
    const text = logs.text();
    expect(text.length).toBeGreaterThan(0);
    expect(issuedTokens.length).toBeGreaterThan(5);
    expect(text).not.toContain(DEFAULT_REMOTE_CREDENTIALS.password);
    for (const token of issuedTokens) expect(text).not.toContain(token);
    expect(text).not.toMatch(/Bearer /);
  });
});

describe('one Sinkron instance syncing from another', () => {
  let database: TestDatabase;
  let dev: TestApp;
  let served: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    database = await createTestDatabase();
    dev = await buildTestApp(database, { APP_LOCATION_CODE: 'DEV' });
    served = await listen(dev.app);
    // 22 vendors, the admin and the API account the hub signs in with: 24 users.
    await createApiAccount(dev);
    await database.db('users').insert(
      Array.from({ length: 22 }, (_, i) => ({
        location_id: dev.container.ownLocation.id,
        email: `dev_vendor${i + 1}@dkm`,
        name: `Dev Vendor ${i + 1}`,
        role: 'vendor',
        is_active: i !== 4,
      })),
    );
  });
  afterAll(async () => {
    await served.close();
    await dev.close();
    await database.drop();
  });

  it('reads every user of the other instance through its API', async () => {
    const api = service({ EXTERNAL_API_EMAIL: TEST_API_ACCOUNT.email, EXTERNAL_API_PASSWORD: TEST_API_ACCOUNT.password });
    const pages = await collect(api.fetchUsers(locationAt(served.url)));
    expect(pages.map((p) => p.page)).toEqual([1, 2, 3]);
    const users = pages.flatMap((p) => p.users);
    expect(users).toHaveLength(24);
    expect(users.map((u) => u.email)).toContain(TEST_ADMIN.email);
    expect(users.find((u) => u.email === 'dev_vendor5@dkm')).toMatchObject({ isActive: false, role: 'vendor', name: 'Dev Vendor 5' });
    expect(pages.flatMap((p) => p.rejected)).toEqual([]);
    expect(await api.testConnection(locationAt(served.url))).toEqual({ total: 24, firstPageCount: 10 });
  });

  it('keeps the password and the tokens out of both instances’ logs', async () => {
    const api = service({ EXTERNAL_API_EMAIL: TEST_API_ACCOUNT.email, EXTERNAL_API_PASSWORD: TEST_API_ACCOUNT.password });
    await collect(api.fetchUsers(locationAt(served.url)));
    for (const text of [logs.text(), dev.logs.text()]) {
      expect(text).not.toContain(TEST_API_ACCOUNT.password);
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
    }
  });
});
