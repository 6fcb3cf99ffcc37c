import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiAccount, TEST_ADMIN, TEST_API_ACCOUNT, useTestApp, type TestApp } from '../support/app';
import { csrfFrom, signedInAgent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';

let database: TestDatabase;
let t: TestApp;

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({ SESSION_MAX_HOURS: '12' }),
);
beforeAll(async () => {
  await createApiAccount(t);
});

const sessionCount = async () => Number((await database.db('session').count({ n: '*' }).first())!.n);
const sidCookieOf = (response: request.Response) =>
  ([] as string[]).concat(response.headers['set-cookie'] ?? []).find((c) => c.startsWith('sinkron.sid='));

describe('anonymous requests (L2)', () => {
  it('when a stranger opens pages, a 404, the sign-in form, or posts it wrongly, then no session row is stored and no session cookie set', async () => {
    const before = await sessionCount();
    const stranger = request.agent(t.app);
    const responses = [
      await stranger.get('/'),
      await stranger.get('/login'),
      await stranger.get('/no-such-page'),
      await stranger.get('/admin/users'),
      await stranger.get('/api/nothing'),
      await stranger.post('/admin/locations').type('form').send({ code: 'X', name: 'X' }),
    ];
    const page = await stranger.get('/login');
    responses.push(
      await stranger
        .post('/login')
        .type('form')
        .send({ email: TEST_ADMIN.email, password: 'wrong', _csrf: csrfFrom(page.text) }),
    );
    expect(responses.map((r) => r.status)).toEqual([303, 200, 404, 303, 404, 403, 401]);
    for (const response of responses) expect(sidCookieOf(response)).toBeUndefined();
    expect(await sessionCount()).toBe(before);
  });

  it('when the sign-in succeeds, then its session is the first one stored', async () => {
    const before = await sessionCount();
    const agent = await signedInAgent(t.app);
    expect(await sessionCount()).toBe(before + 1);
    expect((await agent.get('/admin/users')).status).toBe(200);
  });
});

describe('Cache-Control (L5)', () => {
  it('when an admin page, the sign-in page, an error or an API answer is served, then it says no-store', async () => {
    const agent = await signedInAgent(t.app);
    const login = await request(t.app).post('/api/auth/login').send(TEST_API_ACCOUNT);
    const responses: Array<[string, request.Response]> = [
      ['users page', await agent.get('/admin/users')],
      ['locations page', await agent.get('/admin/locations')],
      ['sync history', await agent.get('/admin/sync-runs')],
      ['404 page', await agent.get('/admin/no-such-page')],
      ['sign-in page', await request(t.app).get('/login')],
      ['API login', login],
      ['API users', await request(t.app).get('/api/users').set('Authorization', `Bearer ${login.body.access_token}`)],
      ['API 401', await request(t.app).get('/api/users')],
    ];
    expect(responses.map(([, r]) => r.status)).toEqual([200, 200, 200, 404, 200, 200, 200, 401]);
    for (const [what, response] of responses) expect(response.headers['cache-control'], what).toBe('no-store');
  });
});

describe('absolute session lifetime (SESSION_MAX_HOURS)', () => {
  it('when a sign-in is older than SESSION_MAX_HOURS, then it ends however active it was, and its row is deleted', async () => {
    const agent = request.agent(t.app);
    const form = await agent.get('/login');
    const signIn = await agent
      .post('/login')
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: csrfFrom(form.text) });
    const sid = decodeURIComponent(sidCookieOf(signIn)!.split(';')[0]!.slice('sinkron.sid='.length)).replace(/^s:/, '').split('.')[0]!;
    expect((await agent.get('/admin/users')).status).toBe(200);
    const mine = await database.db('session').where({ sid }).first();
    expect(mine.sess.signedInAt).toBeGreaterThan(Date.now() - 60_000);
    // Active all along (the idle timeout never ran out), signed in 12 hours and a minute ago.
    const sess = { ...mine.sess, signedInAt: Date.now() - (12 * 60 + 1) * 60_000 };
    await database
      .db('session')
      .where({ sid: mine.sid })
      .update({ sess: JSON.stringify(sess) });

    const page = await agent.get('/admin/users');
    expect(page.status).toBe(303);
    expect(page.headers.location).toMatch(/^\/login/);
    expect(await database.db('session').where({ sid: mine.sid }).first()).toBeUndefined();
    // Signing in again works.
    expect((await (await signedInAgent(t.app)).get('/admin/users')).status).toBe(200);
  });
});
