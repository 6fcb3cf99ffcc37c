import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildTestApp, TEST_ADMIN, useTestApp, type TestApp } from '../support/app';
import { csrfFrom, csrfToken, signedInAgent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';

let database: TestDatabase;
let t: TestApp;

useTestApp((ctx) => ({ database, t } = ctx));

describe('admin sign-in', () => {
  it('stores the first admin with an argon2id hash in the own location', async () => {
    const row = await database.db('users').where({ email: TEST_ADMIN.email }).first();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.location_id).toBe(t.container.ownLocation.id);
    expect(row.role).toBe('admin');
  });

  it('signs in with the right password, regenerating the session id', async () => {
    const sid = (r: request.Response) => ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((c) => c.startsWith('sinkron.sid='));
    const agent = request.agent(t.app);
    // A session from an earlier sign-in in the same browser: signing in again must not keep its id.
    const firstToken = await csrfToken(agent);
    const first = await agent
      .post('/login')
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: firstToken });
    const earlierCookie = sid(first)!.split(';')[0]!;
    const loginPage = await request(t.app).get('/login');
    expect(loginPage.headers['set-cookie']?.[0]).toMatch(/^sinkron\.login=/);

    const response = await request(t.app)
      .post('/login')
      .set('Cookie', [earlierCookie, loginPage.headers['set-cookie']![0]!.split(';')[0]!])
      .type('form')
      .send({ email: 'ADMIN@sinkron.test ', password: TEST_ADMIN.password, _csrf: csrfFrom(loginPage.text) });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/admin/users');
    const newCookie = sid(response);
    expect(newCookie).toMatch(/HttpOnly/i);
    expect(newCookie).toMatch(/SameSite=Lax/i);
    expect(newCookie?.split(';')[0]).not.toBe(earlierCookie);

    const page = await request(t.app).get('/admin/users').set('Cookie', newCookie!.split(';')[0]!);
    expect(page.status).toBe(200);
    expect(page.text).toContain('User Management');

    // The id from before the sign-in grants nothing.
    const withOldId = await request(t.app).get('/admin/users').set('Cookie', earlierCookie);
    expect(withOldId.status).toBe(303);
    expect(withOldId.headers.location).toMatch(/^\/login/);
  });

  it('refuses a wrong password and an unknown email with the same message', async () => {
    const agent = request.agent(t.app);
    const token = await csrfToken(agent);
    const wrong = await agent.post('/login').type('form').send({ email: TEST_ADMIN.email, password: 'nope', _csrf: token });
    const unknown = await agent.post('/login').type('form').send({ email: 'who@sinkron.test', password: 'nope', _csrf: token });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.text).toContain('Invalid email or password.');
    expect(unknown.text).toContain('Invalid email or password.');
  });

  it('rejects a sign-in without a valid CSRF token with a 403 page', async () => {
    const agent = request.agent(t.app);
    await agent.get('/login');
    const missing = await agent.post('/login').type('form').send(TEST_ADMIN);
    const wrong = await agent
      .post('/login')
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: 'forged' });
    expect(missing.status).toBe(403);
    expect(wrong.status).toBe(403);
    expect(wrong.text).toContain('did not come from Sinkron');
  });

  it('refuses users who are not active admins of this instance', async () => {
    const other = await t.container.repositories.locations.ensure({ code: 'DEV', name: 'Dev', onlineUrl: null });
    await t.container.services.auth.createOrResetAccount('inactive@sinkron.test', TEST_ADMIN.password);
    await database.db('users').where({ email: 'inactive@sinkron.test' }).update({ is_active: false });
    await database.db('users').insert({
      location_id: other.id,
      email: 'remote-admin@sinkron.test',
      name: 'Remote admin',
      role: 'admin',
      password_hash: (await database.db('users').where({ email: TEST_ADMIN.email }).first()).password_hash,
    });
    for (const email of ['inactive@sinkron.test', 'remote-admin@sinkron.test']) {
      const agent = request.agent(t.app);
      const token = await csrfToken(agent);
      const response = await agent.post('/login').type('form').send({ email, password: TEST_ADMIN.password, _csrf: token });
      expect(response.status, email).toBe(401);
    }
  });

  it('keeps the sign-ins of two instances on one host apart: each has its own cookie name', async () => {
    const otherDatabase = await createTestDatabase();
    const dev = await buildTestApp(otherDatabase, { APP_LOCATION_CODE: 'DEV' });
    try {
      const agent = request.agent(dev.app);
      const token = await csrfToken(agent);
      const response = await agent
        .post('/login')
        .type('form')
        .send({ ...TEST_ADMIN, _csrf: token });
      expect(response.status).toBe(303);
      expect(([] as string[]).concat(response.headers['set-cookie'] ?? []).some((c) => /^sinkron\.dev\.sid=/.test(c))).toBe(true);
    } finally {
      await dev.close();
      await otherDatabase.drop();
    }
  });

  it('signs out, after which admin pages redirect to the sign-in page', async () => {
    const agent = await signedInAgent(t.app);
    const token = await csrfToken(agent, '/admin/users');
    const out = await agent.post('/logout').type('form').send({ _csrf: token });
    expect(out.status).toBe(303);
    const after = await agent.get('/admin/locations');
    expect(after.status).toBe(303);
    expect(after.headers.location).toBe('/login?next=%2Fadmin%2Flocations');
  });
});

describe('sign-in throttling', () => {
  async function failedSignIns(app: TestApp['app'], attempts: Array<{ email: string; ip: string }>) {
    const statuses: number[] = [];
    for (const { email, ip } of attempts) {
      const agent = request.agent(app);
      const token = await csrfToken(agent);
      const response = await agent.post('/login').set('X-Forwarded-For', ip).type('form').send({ email, password: 'a guess', _csrf: token });
      statuses.push(response.status);
    }
    return statuses;
  }

  it('throttles one address after five times the limit, whatever the emails', async () => {
    const throttled = await buildTestApp(database, { LOGIN_RATE_LIMIT_MAX: '1', TRUST_PROXY: '1' });
    const statuses = await failedSignIns(
      throttled.app,
      [1, 2, 3, 4, 5, 6, 7].map((i) => ({ email: `user${i}@sinkron.test`, ip: '203.0.113.7' })),
    );
    await throttled.close();
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });

  it('throttles one address and account after the limit; other addresses are only slowed for that account', async () => {
    const throttled = await buildTestApp(database, { LOGIN_RATE_LIMIT_MAX: '3', TRUST_PROXY: '1' });
    const oneAddress = await failedSignIns(
      throttled.app,
      [1, 2, 3, 4].map(() => ({ email: TEST_ADMIN.email, ip: '198.51.100.1' })),
    );
    const others = await failedSignIns(
      throttled.app,
      [2, 3].map((i) => ({ email: TEST_ADMIN.email, ip: `198.51.100.${i}` })),
    );
    await throttled.close();
    expect(oneAddress).toEqual([401, 401, 401, 429]);
    expect(others).toEqual([401, 401]);
  });
});
