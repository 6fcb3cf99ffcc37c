import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildTestApp, TEST_ADMIN, useTestApp, type TestApp } from '../support/app';
import { csrfFrom, csrfToken } from '../support/browser-session';
import type { TestDatabase } from '../support/database';

let database: TestDatabase;
let t: TestApp;

useTestApp((ctx) => ({ database, t } = ctx));

const sidCookie = (setCookie: string | string[] | undefined) =>
  ([] as string[])
    .concat(setCookie ?? [])
    .find((c) => c.startsWith('sinkron.sid='))
    ?.split(';')[0];

/** The session id inside a signed `sinkron.sid=s:<id>.<signature>` cookie. */
const sessionIdOf = (cookie: string) => decodeURIComponent(cookie.slice('sinkron.sid='.length)).replace(/^s:/, '').split('.')[0]!;

async function sessionRow(sid: string) {
  return database.db('session').where({ sid }).first();
}

/** The sign-in form's token and its cookie, as a browser holds them after opening /login. */
async function loginForm() {
  const page = await request(t.app).get('/login');
  const cookie = ([] as string[])
    .concat(page.headers['set-cookie'] ?? [])
    .find((c) => c.startsWith('sinkron.login='))!
    .split(';')[0]!;
  return { token: csrfFrom(page.text), cookie };
}

describe('when an attacker plants a session id before the admin signs in', () => {
  it('then the sign-in issues a new id, deletes the planted session, and the planted id grants nothing', async () => {
    // The sign-in page stores no session, so the attacker plants a stored session of their own (from their
    // own sign-in) in the victim's browser.
    const { token, cookie } = await loginForm();
    const attackerSignIn = await request(t.app)
      .post('/login')
      .set('Cookie', cookie)
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: token });
    const planted = sidCookie(attackerSignIn.headers['set-cookie'])!;
    expect(planted).toBeDefined();
    expect(await sessionRow(sessionIdOf(planted))).toBeDefined();

    const victimForm = await loginForm();
    const logStart = t.logs.lines.length;
    const signIn = await request(t.app)
      .post('/login')
      .set('Cookie', [planted, victimForm.cookie])
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: victimForm.token });
    expect(signIn.status).toBe(303);
    const issued = sidCookie(signIn.headers['set-cookie'])!;
    expect(issued).toBeDefined();
    expect(sessionIdOf(issued)).not.toBe(sessionIdOf(planted));

    expect(await sessionRow(sessionIdOf(planted))).toBeUndefined();
    const withPlanted = await request(t.app).get('/admin/users').set('Cookie', planted);
    expect(withPlanted.status).toBe(303);
    expect(withPlanted.headers.location).toMatch(/^\/login/);
    const withIssued = await request(t.app).get('/admin/users').set('Cookie', issued);
    expect(withIssued.status).toBe(200);

    const success = t.logs
      .entries()
      .slice(logStart)
      .find((e) => e.msg === 'login succeeded');
    expect(success).toBeDefined();
    expect(t.logs.text()).not.toContain(sessionIdOf(issued));
  });

  it('then a made-up or re-signed cookie is never adopted as a session', async () => {
    for (const forged of ['sinkron.sid=attacker-chosen-id', 'sinkron.sid=s%3Aattacker-chosen-id.bm90LWEtc2lnbmF0dXJl']) {
      const { token, cookie } = await loginForm();
      const signIn = await request(t.app)
        .post('/login')
        .set('Cookie', [forged, cookie])
        .type('form')
        .send({ ...TEST_ADMIN, _csrf: token });
      expect(signIn.status, forged).toBe(303);
      const given = sidCookie(signIn.headers['set-cookie']);
      expect(given, forged).toBeDefined();
      expect(sessionIdOf(given!)).not.toBe('attacker-chosen-id');
      expect(await sessionRow('attacker-chosen-id')).toBeUndefined();
    }
  });
});

describe('when a CSRF token was handed out before the sign-in', () => {
  it('then it is worthless afterwards: the new session has its own token', async () => {
    const agent = request.agent(t.app);
    const loginPage = await agent.get('/login');
    const tokenBefore = csrfFrom(loginPage.text);
    expect(
      (
        await agent
          .post('/login')
          .type('form')
          .send({ ...TEST_ADMIN, _csrf: tokenBefore })
      ).status,
    ).toBe(303);
    const before = await database.db('locations').count({ n: '*' }).first();
    const stale = await agent.post('/admin/locations').type('form').send({ code: 'OLDTOKEN', name: 'Old token', online_url: '', _csrf: tokenBefore });
    expect(stale.status).toBe(403);
    expect(await database.db('locations').count({ n: '*' }).first()).toEqual(before);
    expect(await csrfToken(agent, '/admin/locations')).not.toBe(tokenBefore);
  });
});

describe('when the admin signs out', () => {
  it('then the session is gone from the database and its cookie is useless', async () => {
    const agent = request.agent(t.app);
    const page = await agent.get('/login');
    const signIn = await agent
      .post('/login')
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: csrfFrom(page.text) });
    const cookie = sidCookie(signIn.headers['set-cookie'])!;
    const out = await agent
      .post('/logout')
      .type('form')
      .send({ _csrf: await csrfToken(agent, '/admin/users') });
    expect(out.status).toBe(303);
    expect(await sessionRow(sessionIdOf(cookie))).toBeUndefined();
    const replay = await request(t.app).get('/admin/users').set('Cookie', cookie);
    expect(replay.status).toBe(303);
    expect(replay.headers.location).toMatch(/^\/login/);
  });
});

describe('session cookie', () => {
  it('is HttpOnly and SameSite=Lax, and Secure behind a TLS-terminating proxy (so is the sign-in form cookie)', async () => {
    const { token, cookie: formCookie } = await loginForm();
    const direct = await request(t.app)
      .post('/login')
      .set('Cookie', formCookie)
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: token });
    const cookie = ([] as string[]).concat(direct.headers['set-cookie'] ?? []).find((c) => c.startsWith('sinkron.sid='))!;
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);

    const proxied = await buildTestApp(database, { TRUST_PROXY: '1' });
    try {
      const page = await request(proxied.app).get('/login').set('X-Forwarded-Proto', 'https');
      const loginCookie = ([] as string[]).concat(page.headers['set-cookie'] ?? []).find((c) => c.startsWith('sinkron.login='))!;
      expect(loginCookie).toMatch(/; HttpOnly/i);
      expect(loginCookie).toMatch(/; Secure/i);
      const viaTls = await request(proxied.app)
        .post('/login')
        .set('X-Forwarded-Proto', 'https')
        .set('Cookie', loginCookie.split(';')[0]!)
        .type('form')
        .send({ ...TEST_ADMIN, _csrf: csrfFrom(page.text) });
      const secure = ([] as string[]).concat(viaTls.headers['set-cookie'] ?? []).find((c) => c.startsWith('sinkron.sid='))!;
      expect(secure).toMatch(/; Secure/i);
    } finally {
      await proxied.close();
    }
  });
});
