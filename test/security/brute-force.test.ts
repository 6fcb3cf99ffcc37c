import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createApiAccount, TEST_ADMIN, TEST_API_ACCOUNT, type TestApp } from '../support/app';
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
      expect(withoutEchoedEmail(unknown.text).replace(/name="_csrf" value="[^"]+"/g, '')).toBe(
        withoutEchoedEmail(wrong.text).replace(/name="_csrf" value="[^"]+"/g, ''),
      );
    } finally {
      await t.close();
    }
  });

  it('when one address keeps guessing one account, then it gets 429 with a wait, even for the right password, and the log says why', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '3', LOGIN_RATE_LIMIT_WINDOW_MINUTES: '15' });
    try {
      const before = await snapshotTables(database.db);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await pageSignIn(t, TEST_ADMIN.email, `guess ${i}`, '203.0.113.7')).status);
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

  it('when one address guesses many accounts, then it is refused after five times the limit', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '2' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push((await pageSignIn(t, `guess${i}@sinkron.test`, 'guess', '203.0.113.9')).status);
      expect(statuses).toEqual([...Array(10).fill(401), 429]);
      expect((await pageSignIn(t, TEST_ADMIN.email, TEST_ADMIN.password, '203.0.113.9')).status).toBe(429);
    } finally {
      await t.close();
    }
  });

  it('when many addresses guess one account, then it is slowed, never locked: the right password from a new address gets in (M3)', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 1; i <= 6; i++) statuses.push((await pageSignIn(t, TEST_ADMIN.email.toUpperCase(), 'guess', `198.51.100.${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
      expect((await pageSignIn(t, TEST_ADMIN.email, TEST_ADMIN.password, '198.51.100.50')).status).toBe(303);
      const slowed = t.logs.entries().filter((e) => e.msg === 'sign-in slowed');
      expect(slowed.map((e) => e.delayMs)).toEqual([500, 1000, 1500, 2000]);
      expect(t.logs.entries().some((e) => e.msg === 'sign-in throttled')).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('when the email is spelled with İ, then it counts for the account the database finds (L1)', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '3' });
    try {
      // PostgreSQL lowers İ to i and finds the admin; JavaScript lowers it to i + U+0307.
      const dotted = TEST_ADMIN.email.replace('i', 'İ');
      const { rows } = await database.db.raw('SELECT lower(?) = lower(?) AS same', [dotted, TEST_ADMIN.email]);
      expect(rows[0].same).toBe(true);
      expect(dotted.toLowerCase()).not.toBe(TEST_ADMIN.email);

      for (let i = 1; i <= 3; i++) expect((await pageSignIn(t, TEST_ADMIN.email, 'guess', `198.51.100.${100 + i}`)).status).toBe(401);
      expect((await pageSignIn(t, dotted, 'guess', '198.51.100.110')).status).toBe(401);
      expect(t.logs.entries().filter((e) => e.msg === 'sign-in slowed')).toHaveLength(1);
      const failures = t.logs.entries().filter((e) => e.msg === 'login failed');
      expect(failures.map((e) => e.userId)).toEqual(Array(4).fill(failures[0]!.userId));

      // From one address, the spellings share the address-and-account count too.
      for (let i = 0; i < 3; i++) expect((await pageSignIn(t, i % 2 ? dotted : TEST_ADMIN.email, 'guess', '198.51.100.120')).status).toBe(401);
      expect((await pageSignIn(t, dotted.toUpperCase(), 'guess', '198.51.100.120')).status).toBe(429);
    } finally {
      await t.close();
    }
  });

  it('when something that is not an account is typed into the email field, then the log holds none of it (L3)', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1' });
    try {
      const typed = ['my-secret@passw0rd', 'P@ssword!', 'nobody@sinkron.test'];
      for (const [i, email] of typed.entries()) await pageSignIn(t, email, TEST_ADMIN.password, `198.51.100.${200 + i}`);
      await request(t.app).post('/api/auth/login').set('X-Forwarded-For', '198.51.100.210').send({ email: 'hunter2@secret', password: 'x' });
      const failures = t.logs.entries().filter((e) => e.msg === 'login failed' || e.msg === 'api login failed');
      expect(failures).toHaveLength(4);
      for (const failure of failures) expect(failure).toMatchObject({ account: 'unknown' });
      for (const text of [...typed, 'hunter2@secret']) expect(t.logs.text()).not.toContain(text);
    } finally {
      await t.close();
    }
  });

  it('when few attempts are left for an account from an address, then the page says how many before the wait, in the admin’s language (issue 28, point 3)', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '5', LOGIN_RATE_LIMIT_WINDOW_MINUTES: '15' });
    try {
      const said: string[] = [];
      for (let i = 0; i < 5; i++) {
        const response = await pageSignIn(t, TEST_ADMIN.email, `guess ${i}`, '203.0.113.20');
        expect(response.status).toBe(401);
        said.push(/<div class="alert alert-error"[^>]*>([^<]*)<\/div>/.exec(response.text)![1]!);
      }
      expect(said).toEqual([
        'Invalid email or password.',
        'Invalid email or password. 3 attempts left before a 15-minute wait from this address.',
        'Invalid email or password. 2 attempts left before a 15-minute wait from this address.',
        'Invalid email or password. 1 attempt left before a 15-minute wait from this address.',
        'Invalid email or password. No attempts left: wait 15 minutes before signing in again from this address.',
      ]);
      expect((await pageSignIn(t, TEST_ADMIN.email, 'guess 5', '203.0.113.20')).status).toBe(429);

      const agent = request.agent(t.app);
      const token = await csrfToken(agent);
      const indonesian = await agent
        .post('/login')
        .set('X-Forwarded-For', '203.0.113.21')
        .set('Accept-Language', 'id')
        .type('form')
        .send({ email: 'nobody@sinkron.test', password: 'guess', _csrf: token });
      expect(indonesian.status).toBe(401);
      expect(indonesian.text).toContain('Email atau kata sandi salah.');
      expect(indonesian.text).not.toContain('Sisa');
      for (let i = 0; i < 3; i++) await pageSignIn(t, 'nobody@sinkron.test', 'guess', '203.0.113.21');
      const last = await agent
        .post('/login')
        .set('X-Forwarded-For', '203.0.113.21')
        .set('Accept-Language', 'id')
        .type('form')
        .send({ email: 'nobody@sinkron.test', password: 'guess', _csrf: token });
      expect(last.status).toBe(401);
      expect(last.text).toContain('Email atau kata sandi salah. Percobaan habis: tunggu 15 menit sebelum masuk lagi dari alamat IP ini.');

      // The right password from another address is never held back by these failures.
      expect((await pageSignIn(t, TEST_ADMIN.email, TEST_ADMIN.password, '203.0.113.22')).status).toBe(303);
    } finally {
      await t.close();
    }
  });

  it('when colleagues share one address (an office NAT), then one colleague’s typos lock out only their own account there (issue 28, point 3)', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '3' });
    try {
      const colleague = { email: 'colleague@sinkron.test', password: 'another long password 77' };
      await t.container.services.auth.createOrResetAccount(colleague.email, colleague.password);
      const office = '198.51.100.77';
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await pageSignIn(t, colleague.email, `typo ${i}`, office)).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect((await pageSignIn(t, colleague.email, colleague.password, office)).status).toBe(429);

      // Another admin behind the same address: their own count, untouched by the colleague's.
      const typo = await pageSignIn(t, TEST_ADMIN.email, 'one typo', office);
      expect(typo.status).toBe(401);
      expect(typo.text).toContain('Invalid email or password. 2 attempts left before a 15-minute wait from this address.');
      expect((await pageSignIn(t, TEST_ADMIN.email, TEST_ADMIN.password, office)).status).toBe(303);
      // And the colleague, from home, gets in with the right password.
      expect((await pageSignIn(t, colleague.email, colleague.password, '192.0.2.77')).status).toBe(303);
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
      await createApiAccount(t);
      const before = await snapshotTables(database.db);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await apiSignIn(t, TEST_API_ACCOUNT.email, `guess ${i}`, '203.0.113.70')).status);
      const rightPassword = await apiSignIn(t, TEST_API_ACCOUNT.email, TEST_API_ACCOUNT.password, '203.0.113.70');
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

  it('when ten addresses guess the sync account, then the hub, from its own address, still gets a token (M3)', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '7' });
    try {
      await createApiAccount(t);
      const statuses: number[] = [];
      for (let i = 1; i <= 10; i++)
        statuses.push((await apiSignIn(t, ` ${TEST_API_ACCOUNT.email.toUpperCase()}`, 'guess', `198.51.100.${70 + i}`)).status);
      expect(statuses).toEqual(Array(10).fill(401));
      const hub = await apiSignIn(t, TEST_API_ACCOUNT.email, TEST_API_ACCOUNT.password, '198.51.100.99');
      expect(hub.status).toBe(200);
      expect(hub.body.access_token).toBeDefined();
      // Past the limit every attempt on the account is slowed, by a delay that grows (up to 5 s).
      expect(
        t.logs
          .entries()
          .filter((e) => e.msg === 'api login slowed')
          .map((e) => e.delayMs),
      ).toEqual([500, 1000, 1500, 2000]);
    } finally {
      await t.close();
    }
  });
});

describe('brute force on the online URL confirmation (issue 26, finding 4)', () => {
  /** An admin's browser signed in from `ip`. */
  async function adminFrom(t: TestApp, ip: string) {
    const agent = request.agent(t.app);
    const token = await csrfToken(agent);
    const signIn = await agent
      .post('/login')
      .set('X-Forwarded-For', ip)
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: token });
    expect(signIn.status).toBe(303);
    return agent;
  }

  /** A location whose URL no admin has confirmed yet. */
  async function unconfirmedLocation(code: string) {
    const [row] = await database
      .db('locations')
      .insert({ code, name: code, online_url: `https://${code.toLowerCase()}.example.com` })
      .returning('*');
    return row as { id: number; code: string; online_url: string };
  }

  async function confirm(
    agent: ReturnType<typeof request.agent>,
    location: { id: number; code: string; online_url: string },
    password: string,
    ip: string,
    language = 'en',
  ) {
    const token = await csrfToken(agent, '/admin/locations');
    return agent
      .post(`/admin/locations/${location.id}/confirm-url`)
      .set('X-Forwarded-For', ip)
      .set('Accept-Language', language)
      .type('form')
      .send({ online_url: location.online_url, code: location.code, password, _csrf: token });
  }

  const confirmedCode = async (id: number) => (await database.db('locations').where({ id }).first('confirmed_code')).confirmed_code;

  it('when one address keeps guessing the password, then it gets 429 with a wait, even for the right password, and nothing is confirmed', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '3', LOGIN_RATE_LIMIT_WINDOW_MINUTES: '15' });
    try {
      const location = await unconfirmedLocation('GUESSED');
      const agent = await adminFrom(t, '203.0.113.40');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await confirm(agent, location, `guess ${i}`, '203.0.113.40')).status);
      const rightPassword = await confirm(agent, location, TEST_ADMIN.password, '203.0.113.40');
      const inIndonesian = await confirm(agent, location, TEST_ADMIN.password, '203.0.113.40', 'id');

      expect(statuses).toEqual([403, 403, 403, 429]);
      expect(rightPassword.status).toBe(429);
      expect(rightPassword.text).toContain('Too many wrong passwords. Wait 15 minutes and confirm again.');
      expect(inIndonesian.status).toBe(429);
      expect(inIndonesian.text).toContain('Terlalu banyak kata sandi yang salah. Tunggu 15 menit, lalu konfirmasi lagi.');
      expect(await confirmedCode(location.id)).toBeNull();
      const entries = t.logs.entries();
      expect(entries.filter((e) => e.msg === 'password confirmation throttled')).toHaveLength(3);
      // Throttled attempts never reach the password check.
      expect(entries.filter((e) => e.msg === 'location online URL not confirmed: wrong password')).toHaveLength(3);

      // Another address of the same admin is not held back by this one (only slowed, per account).
      const elsewhere = await adminFrom(t, '203.0.113.41');
      expect((await confirm(elsewhere, location, TEST_ADMIN.password, '203.0.113.41')).status).toBe(303);
      expect(await confirmedCode(location.id)).toBe('GUESSED');
    } finally {
      await t.close();
    }
  });

  it('when confirmations succeed, then they do not count towards the limit', async () => {
    const t = await buildTestApp(database, { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_MAX: '2' });
    try {
      const agent = await adminFrom(t, '192.0.2.40');
      for (const code of ['RIGHT1', 'RIGHT2', 'RIGHT3']) {
        expect((await confirm(agent, await unconfirmedLocation(code), TEST_ADMIN.password, '192.0.2.40')).status).toBe(303);
      }
      const location = await unconfirmedLocation('RIGHT4');
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await confirm(agent, location, `guess ${i}`, '192.0.2.40')).status);
      expect(statuses).toEqual([403, 403, 429]);
    } finally {
      await t.close();
    }
  });
});
