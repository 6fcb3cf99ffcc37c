import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_ADMIN, type TestApp } from '../support/app';
import { csrfToken } from '../support/browser-session';
import { snapshotTables } from '../support/db-snapshot';
import { createTestDatabase, type TestDatabase } from '../support/database';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

async function pageSignIn(t: TestApp, email: string, password: string, ip = '203.0.113.10') {
  const agent = request.agent(t.app);
  const token = await csrfToken(agent);
  return agent.post('/login').set('X-Forwarded-For', ip).type('form').send({ email, password, _csrf: token });
}

/** The page without the one thing that may differ: the email typed back into its field. */
const withoutEchoedEmail = (html: string) => html.replace(/value="[^"]*@[^"]*"/g, 'value=""');

describe('brute force on /login', () => {
  it('when the email is unknown or the password wrong, then the answer is the same', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1' });
    try {
      const wrong = await pageSignIn(t, TEST_ADMIN.email, 'not the password', '198.51.100.1');
      const unknown = await pageSignIn(t, 'nobody@sinkron.test', 'not the password', '198.51.100.2');
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(wrong.status);
      expect(wrong.text).toContain('Invalid email or password.');
      expect(withoutEchoedEmail(unknown.text).replace(/name="_csrf" value="[^"]+"/, '')).toBe(
        withoutEchoedEmail(wrong.text).replace(/name="_csrf" value="[^"]+"/, ''),
      );
    } finally {
      await t.close();
    }
  });

  it('when one address keeps guessing, then it gets 429 with a wait, even for the right password, and the log says why', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '3', LOGIN_RATE_LIMIT_WINDOW_MINUTES: '15' });
    try {
      const before = await snapshotTables(database.db);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await pageSignIn(t, `guess${i}@sinkron.test`, 'guess', '203.0.113.7')).status);
      const rightPassword = await pageSignIn(t, TEST_ADMIN.email, TEST_ADMIN.password, '203.0.113.7');

      expect(statuses).toEqual([401, 401, 401, 429]);
      expect(rightPassword.status).toBe(429);
      expect(rightPassword.text).toContain('Too many failed sign-ins. Wait 15 minutes and try again.');
      expect(rightPassword.headers['ratelimit-policy'] ?? rightPassword.headers['ratelimit']).toBeDefined();

      const entries = t.logs.entries();
      expect(entries.filter((e) => e.msg === 'sign-in throttled')).toHaveLength(2);
      expect(entries.filter((e) => e.msg === 'sign-in throttled').every((e) => e.reason === 'too many failed sign-ins')).toBe(true);
      // Throttled attempts never reach the password check.
      expect(entries.filter((e) => e.msg === 'login failed')).toHaveLength(3);
      expect(entries.some((e) => e.msg === 'login succeeded')).toBe(false);
      expect(await snapshotTables(database.db)).toEqual(before);

      // Another address is not held back by this one.
      expect((await pageSignIn(t, TEST_ADMIN.email, TEST_ADMIN.password, '203.0.113.8')).status).toBe(303);
    } finally {
      await t.close();
    }
  });

  it('when many addresses guess one account, then that account is throttled and the others are not', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 1; i <= 4; i++) statuses.push((await pageSignIn(t, TEST_ADMIN.email.toUpperCase(), 'guess', `198.51.100.${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect((await pageSignIn(t, TEST_ADMIN.email, TEST_ADMIN.password, '198.51.100.50')).status).toBe(429);
      expect((await pageSignIn(t, 'other@sinkron.test', 'guess', '198.51.100.51')).status).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('when sign-ins succeed, then they do not count towards the limit', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '2' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await pageSignIn(t, TEST_ADMIN.email, TEST_ADMIN.password, '192.0.2.4')).status);
      expect(statuses).toEqual([303, 303, 303, 303]);
    } finally {
      await t.close();
    }
  });
});

describe('brute force on /api/auth/login', () => {
  const apiSignIn = (t: TestApp, email: string, password: string, ip: string) =>
    request(t.app).post('/api/auth/login').set('X-Forwarded-For', ip).send({ email, password });

  it('when the email is unknown or the password wrong, then the JSON answer is the same', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1' });
    try {
      const wrong = await apiSignIn(t, TEST_ADMIN.email, 'not the password', '198.51.100.61');
      const unknown = await apiSignIn(t, 'nobody@sinkron.test', 'not the password', '198.51.100.62');
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual(wrong.body);
      expect(wrong.body).toEqual({ error: 'Invalid email or password.' });
    } finally {
      await t.close();
    }
  });

  it('when one address keeps guessing, then it gets a JSON 429 with a wait, even for the right password, and the log says why', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '3', LOGIN_RATE_LIMIT_WINDOW_MINUTES: '15' });
    try {
      const before = await snapshotTables(database.db);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await apiSignIn(t, `guess${i}@sinkron.test`, 'guess', '203.0.113.70')).status);
      const rightPassword = await apiSignIn(t, TEST_ADMIN.email, TEST_ADMIN.password, '203.0.113.70');
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect(rightPassword.status).toBe(429);
      expect(rightPassword.body).toEqual({ error: 'Too many failed logins. Wait 15 minutes and try again.' });
      expect(rightPassword.body.access_token).toBeUndefined();
      const throttled = t.logs.entries().filter((e) => e.msg === 'api login throttled');
      expect(throttled).toHaveLength(2);
      expect(throttled.every((e) => e.reason === 'too many failed logins')).toBe(true);
      expect(await snapshotTables(database.db)).toEqual(before);
    } finally {
      await t.close();
    }
  });

  it('when many addresses guess one account, then that account is throttled on the API too', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 1; i <= 4; i++) statuses.push((await apiSignIn(t, ` ${TEST_ADMIN.email.toUpperCase()}`, 'guess', `198.51.100.${70 + i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect((await apiSignIn(t, TEST_ADMIN.email, TEST_ADMIN.password, '198.51.100.99')).status).toBe(429);
    } finally {
      await t.close();
    }
  });
});
