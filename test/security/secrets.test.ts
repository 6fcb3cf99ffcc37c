import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createApiAccount, listen, TEST_ADMIN, TEST_API_ACCOUNT, TEST_SECRETS, type TestApp } from '../support/app';
import { csrfFrom } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { DEFAULT_REMOTE_CREDENTIALS, startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation } from '../support/sync-fixtures';

/**
 * One representative session of work with every secret in play: sign-ins (good and bad), the served API,
 * a sync from a Laravel server and from another Sinkron, failing syncs, Test connection, sign-out.
 * Then no log line of any instance, and no page or header, may hold any of the secrets.
 */

const OTHER_SINKRON = {
  SESSION_SECRET: 'other-instance-session-secret-0123456789-abcdef',
  JWT_SECRET: 'other-instance-jwt-secret-0123456789-abcdefghij',
  admin: { email: 'admin@other.test', password: 'other instance admin password 42' },
  api: { email: 'sync@other.test', password: 'other instance api password 77' },
};

let hubDb: TestDatabase;
let otherDb: TestDatabase;
let hub: TestApp;
let other: TestApp;
let otherServed: { url: string; close(): Promise<void> };
let laravel: LaravelServer;

/** Everything a browser or an API client was shown: bodies and headers (apart from the cookies it was given). */
const shown: string[] = [];
const cookieValues = new Set<string>();
const hubTokens: string[] = [];

function record(response: request.Response): request.Response {
  const headers = { ...response.headers };
  for (const cookie of ([] as string[]).concat(headers['set-cookie'] ?? [])) {
    const value = cookie.split(';')[0]!.split('=').slice(1).join('=');
    if (value) {
      cookieValues.add(value);
      cookieValues.add(decodeURIComponent(value));
      cookieValues.add(decodeURIComponent(value).replace(/^s:/, '').split('.')[0]!);
    }
  }
  delete headers['set-cookie'];
  shown.push(response.text ?? '', JSON.stringify(headers));
  return response;
}

beforeAll(async () => {
  hubDb = await createTestDatabase();
  otherDb = await createTestDatabase();
  laravel = await startLaravelServer({
    users: [1, 2, 3].map((i) => ({ id: i, email: `remote${i}@dev.test`, name: `Remote ${i}`, role: 'vendor', is_active: true })),
  });
  other = await buildTestApp(otherDb, {
    APP_LOCATION_CODE: 'OTHER',
    SESSION_SECRET: OTHER_SINKRON.SESSION_SECRET,
    JWT_SECRET: OTHER_SINKRON.JWT_SECRET,
    ADMIN_EMAIL: OTHER_SINKRON.admin.email,
    ADMIN_PASSWORD: OTHER_SINKRON.admin.password,
  });
  await createApiAccount(other, OTHER_SINKRON.api);
  otherServed = await listen(other.app);
  hub = await buildTestApp(hubDb, {
    ...REMOTE_ENV,
    EXTERNAL_API_OTHER_EMAIL: OTHER_SINKRON.api.email,
    EXTERNAL_API_OTHER_PASSWORD: OTHER_SINKRON.api.password,
    REMOTE_RETRIES: '0',
    LOG_LEVEL: 'debug',
  });
  await createApiAccount(hub);
});
afterAll(async () => {
  await hub.close();
  await otherServed.close();
  await other.close();
  await laravel.close();
  await hubDb.drop();
  await otherDb.drop();
});

async function runTheWorkflow() {
  const browser = request.agent(hub.app);
  const form = async (path: string, fields: Record<string, string>, tokenFrom: string) => {
    const page = record(await browser.get(tokenFrom));
    return record(
      await browser
        .post(path)
        .type('form')
        .send({ ...fields, _csrf: csrfFrom(page.text) }),
    );
  };

  // Bad sign-ins first: a wrong password, and the real password typed into the email field by mistake.
  await form('/login', { email: TEST_ADMIN.email, password: 'wrong password' }, '/login');
  await form('/login', { email: TEST_ADMIN.password, password: TEST_ADMIN.password }, '/login');
  expect((await form('/login', TEST_ADMIN, '/login')).status).toBe(303);

  // The served API of the hub: a good and a bad login, then a list.
  // The login's answer is the one place a token is meant to be handed out, so it is not recorded.
  const apiLogin = await request(hub.app).post('/api/auth/login').send(TEST_API_ACCOUNT);
  expect(apiLogin.status).toBe(200);
  hubTokens.push(apiLogin.body.access_token);
  record(
    await request(hub.app)
      .post('/api/auth/login')
      .send({ email: TEST_API_ACCOUNT.email, password: `${TEST_API_ACCOUNT.password}!` }),
  );
  record(await request(hub.app).post('/api/auth/login').send({ email: TEST_API_ACCOUNT.password, password: TEST_API_ACCOUNT.password }));
  record(await request(hub.app).post('/api/auth/login').send(TEST_ADMIN));
  record(await request(hub.app).get('/api/users').set('Authorization', `Bearer ${apiLogin.body.access_token}`));
  record(await request(hub.app).get('/api/users').set('Authorization', `Bearer ${apiLogin.body.access_token}x`));

  const devId = await addLocation(hubDb.db, 'DEV', laravel.url);
  const otherId = await addLocation(hubDb.db, 'OTHER', otherServed.url);
  const syncOf = async (locationId: number) => {
    const preview = await form('/admin/users/sync/preview', { location_id: String(locationId) }, '/admin/users');
    expect(preview.status).toBe(303);
    const runPath = preview.headers.location!;
    record(await browser.get(runPath));
    const executed = await form(`${runPath}/execute`, {}, runPath);
    record(await browser.get(executed.headers.location ?? runPath));
  };

  await syncOf(devId);
  await syncOf(otherId);
  record(await form(`/admin/locations/${devId}/test`, {}, '/admin/locations'));
  record(await browser.get('/admin/locations'));

  // Failing syncs: the remote refuses the fresh token too; then it answers 500.
  laravel.fault({ kind: 'expireTokens', page: 1, times: 2 });
  await syncOf(devId);
  laravel.fault({ kind: 'status', status: 500, page: 1 });
  await syncOf(devId);
  record(await browser.get('/admin/sync-runs'));
  record(await browser.get('/admin/users'));
  await form('/logout', {}, '/admin/users');
}

describe('secrets', () => {
  it('never appear in a log line of any instance, nor in any page or header', async () => {
    await runTheWorkflow();

    const hubSessionRows = await hubDb.db('session').select('sid');
    const secrets: Array<[string, string]> = [
      ['admin password', TEST_ADMIN.password],
      ['other instance admin password', OTHER_SINKRON.admin.password],
      ['API password of OTHER', OTHER_SINKRON.api.password],
      ['hub API account password', TEST_API_ACCOUNT.password],
      ['Laravel API password', DEFAULT_REMOTE_CREDENTIALS.password],
      ['hub JWT secret', TEST_SECRETS.JWT_SECRET],
      ['hub session secret', TEST_SECRETS.SESSION_SECRET],
      ['other JWT secret', OTHER_SINKRON.JWT_SECRET],
      ['other session secret', OTHER_SINKRON.SESSION_SECRET],
      ...hubTokens.map((token, i): [string, string] => [`hub API token ${i}`, token]),
      ...laravel.issuedTokens.map((token, i): [string, string] => [`Laravel token ${i}`, token]),
      ...[...cookieValues].map((value, i): [string, string] => [`session cookie value ${i}`, value]),
      ...hubSessionRows.map((row: { sid: string }, i: number): [string, string] => [`stored session id ${i}`, row.sid]),
    ];
    expect(laravel.issuedTokens.length).toBeGreaterThanOrEqual(3);
    expect(hubTokens).toHaveLength(1);
    expect(cookieValues.size).toBeGreaterThan(0);

    const logs: Array<[string, string]> = [
      ['hub log', hub.logs.text()],
      ['other instance log', other.logs.text()],
    ];
    // The workflow did happen, and its logs are there to search.
    expect(hub.logs.entries().filter((e) => e.msg === 'sync executed')).toHaveLength(2);
    expect(hub.logs.entries().some((e) => e.msg === 'sync preview failed: remote list not fetched')).toBe(true);
    expect(other.logs.entries().some((e) => e.msg === 'api login')).toBe(true);

    for (const [what, secret] of secrets) {
      for (const [where, text] of logs) expect(text.includes(secret), `${what} in the ${where}`).toBe(false);
      expect(
        shown.some((text) => text.includes(secret)),
        `${what} in a page or header`,
      ).toBe(false);
    }
    // No password hash either, and no JWT of any kind.
    for (const [where, text] of [...logs, ['pages', shown.join('\n')] as [string, string]]) {
      expect(text, where).not.toMatch(/\$argon2id\$/);
      if (where !== 'pages') expect(text, where).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
    }
  });
});
