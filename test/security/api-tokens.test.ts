import jwt from 'jsonwebtoken';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createApiAccount, TEST_ADMIN, TEST_API_ACCOUNT, TEST_SECRETS, useTestApp, type TestApp } from '../support/app';
import { signedInAgent } from '../support/browser-session';
import { snapshotTables } from '../support/db-snapshot';
import { createTestDatabase, type TestDatabase } from '../support/database';

let database: TestDatabase;
let t: TestApp;
let adminId: number;
let apiId: number;
let syncedAdminId: number;

const ISSUER = 'sinkron';
// The audience names the instance's location (APP_LOCATION_CODE, LOCAL by default).
const AUDIENCE = 'sinkron-api:LOCAL';

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

useTestApp((ctx) => ({ database, t } = ctx));
beforeAll(async () => {
  adminId = (await database.db('users').where({ email: TEST_ADMIN.email }).first()).id;
  apiId = (await createApiAccount(t)).id;
  const [dev] = await database.db('locations').insert({ code: 'DEV', name: 'Dev', online_url: null }).returning('id');
  // A user synced from DEV whose remote role is admin: it has no password and is not of this instance.
  const [synced] = await database
    .db('users')
    .insert({ location_id: dev.id, email: 'remote-admin@dev.test', name: 'Remote admin', role: 'admin' })
    .returning('id');
  syncedAdminId = synced.id;
});

function signed(payload: Record<string, unknown>, options: jwt.SignOptions = {}, secret = TEST_SECRETS.JWT_SECRET) {
  return jwt.sign(payload, secret, { algorithm: 'HS256', ...options });
}

const good = (sub = apiId, ver = 0) => signed({ ver }, { subject: String(sub), issuer: ISSUER, audience: AUDIENCE, expiresIn: 600 });

/** Tokens that must all be refused; each would pass a verifier that skipped one of the checks. */
function forgedTokens(): Array<[label: string, token: string, reason: RegExp]> {
  const claims = { sub: String(apiId), iss: ISSUER, aud: AUDIENCE, ver: 0, iat: now(), exp: now() + 600 };
  const parts = good().split('.');
  return [
    ['alg none', `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`, /jwt signature is required|invalid algorithm/],
    ['alg none, signature kept', `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.${parts[2]}`, /invalid (algorithm|signature)/],
    [
      'another secret',
      signed(
        { ver: 0 },
        { subject: String(apiId), issuer: ISSUER, audience: AUDIENCE, expiresIn: 600 },
        'another-secret-0123456789-abcdefghijklmnopqrstuv',
      ),
      /invalid signature/,
    ],
    [
      'HS512 with the right secret',
      signed({ ver: 0 }, { algorithm: 'HS512', subject: String(apiId), issuer: ISSUER, audience: AUDIENCE, expiresIn: 600 }),
      /invalid algorithm/,
    ],
    ['expired', signed({ sub: String(apiId), ver: 0, iss: ISSUER, aud: AUDIENCE, iat: now() - 7200, exp: now() - 3600 }), /jwt expired/],
    [
      'not yet valid',
      signed({ ver: 0 }, { subject: String(apiId), issuer: ISSUER, audience: AUDIENCE, expiresIn: 600, notBefore: 3600 }),
      /jwt not active/,
    ],
    ['wrong audience', signed({ ver: 0 }, { subject: String(apiId), issuer: ISSUER, audience: 'another-api', expiresIn: 600 }), /audience invalid/],
    ['wrong issuer', signed({ ver: 0 }, { subject: String(apiId), issuer: 'someone-else', audience: AUDIENCE, expiresIn: 600 }), /issuer invalid/],
    ['no expiry', signed({ ver: 0 }, { subject: String(apiId), issuer: ISSUER, audience: AUDIENCE }), /token without expiry/],
    [
      'payload swapped under a valid signature',
      `${parts[0]}.${base64url({ ...claims, sub: String(syncedAdminId) })}.${parts[2]}`,
      /invalid signature/,
    ],
    ['synced user with remote role admin', good(syncedAdminId), /not an active API account of this instance/],
    ['an admin of this instance (admins do not use the API)', good(adminId), /not an active API account of this instance/],
    ['an older token version (password reset since)', good(apiId, -1), /not an active API account of this instance/],
    ['no token version', signed({}, { subject: String(apiId), issuer: ISSUER, audience: AUDIENCE, expiresIn: 600 }), /token without a token version/],
    [
      'the audience of any instance (not bound to this one)',
      signed({ ver: 0 }, { subject: String(apiId), issuer: ISSUER, audience: 'sinkron-api', expiresIn: 600 }),
      /audience invalid/,
    ],
    ['unknown user', good(987654), /not an active API account of this instance/],
    [
      'subject not a number',
      signed({ ver: 0 }, { subject: '1 OR 1=1', issuer: ISSUER, audience: AUDIENCE, expiresIn: 600 }),
      /subject is not a user id/,
    ],
    ['garbage', 'not-a-jwt', /jwt malformed/],
  ];
}

describe('GET /api/users with a bad bearer token', () => {
  it('when the token is forged, expired, for another audience or user, then the answer is a JSON 401 and the log says it was refused', async () => {
    const before = await snapshotTables(database.db);
    for (const [label, token, reason] of forgedTokens()) {
      const logStart = t.logs.lines.length;
      const response = await request(t.app).get('/api/users').set('Authorization', `Bearer ${token}`);
      expect(response.status, label).toBe(401);
      expect(response.headers['content-type'], label).toMatch(/^application\/json/);
      expect(response.body, label).toEqual({ error: 'Unauthenticated.' });
      expect(response.headers['www-authenticate'], label).toMatch(/^Bearer/);
      const refused = t.logs
        .entries()
        .slice(logStart)
        .find((e) => e.msg === 'api token refused');
      expect(refused, label).toBeDefined();
      expect(String(refused!.reason), label).toMatch(reason);
      expect(t.logs.text(), label).not.toContain(token);
    }
    expect(await snapshotTables(database.db)).toEqual(before);
  });

  it('when there is no token, or it is sent anywhere but the Authorization header, then 401', async () => {
    const token = good();
    // A signed-in browser's session cookie is no credential for the API, so a cross-site request gains nothing.
    const browser = await signedInAgent(t.app);
    const responses = [
      await browser.get('/api/users'),
      await request(t.app).get('/api/users'),
      await request(t.app).get(`/api/users?token=${token}`),
      await request(t.app)
        .get('/api/users')
        .set('Authorization', `Basic ${Buffer.from(`${TEST_ADMIN.email}:${TEST_ADMIN.password}`).toString('base64')}`),
      await request(t.app).get('/api/users').set('Cookie', `token=${token}`),
    ];
    for (const response of responses) {
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ error: 'Unauthenticated.' });
    }
    // The token sent in the URL by mistake is not written into the request log line.
    expect(t.logs.text()).not.toContain(token);
    expect(t.logs.entries().some((e) => (e.req as { url?: string } | undefined)?.url === '/api/users?token=%5Bredacted%5D')).toBe(true);
  });

  it('when the token is genuine, then the same request is answered (so the refusals above are the checks at work)', async () => {
    const response = await request(t.app).get('/api/users').set('Authorization', `Bearer ${good()}`);
    expect(response.status).toBe(200);
    expect(response.body.data.map((u: { email: string }) => u.email)).toContain(TEST_API_ACCOUNT.email);
    expect(JSON.stringify(response.body)).not.toContain('password');
  });
});

describe('a synced user whose remote role is admin', () => {
  it('cannot sign in to the pages nor to the API, with any password', async () => {
    for (const password of ['', TEST_ADMIN.password, 'remote-secret-pw']) {
      const api = await request(t.app).post('/api/auth/login').send({ email: 'remote-admin@dev.test', password });
      expect([401, 422]).toContain(api.status);
      expect(api.body.access_token).toBeUndefined();
    }
    const agent = request.agent(t.app);
    const page = await agent.get('/login');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const signIn = await agent.post('/login').type('form').send({ email: 'remote-admin@dev.test', password: TEST_ADMIN.password, _csrf: token });
    expect(signIn.status).toBe(401);
    expect(signIn.text).toContain('Invalid email or password.');
    expect((await agent.get('/admin/users')).status).toBe(303);
  });
});

describe('the api role, end to end', () => {
  it('when an api account signs in to the API, then it reads /api/users; the same account is refused by the sign-in page and the admin pages', async () => {
    const login = await request(t.app).post('/api/auth/login').send(TEST_API_ACCOUNT);
    expect(login.status).toBe(200);
    const list = await request(t.app).get('/api/users').set('Authorization', `Bearer ${login.body.access_token}`);
    expect(list.status).toBe(200);

    const agent = request.agent(t.app);
    const page = await agent.get('/login');
    const signIn = await agent
      .post('/login')
      .type('form')
      .send({ ...TEST_API_ACCOUNT, _csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)![1]! });
    expect(signIn.status).toBe(401);
    expect(signIn.text).toContain('Invalid email or password.');
    expect((await agent.get('/admin/users')).status).toBe(303);
    // Its bearer token is no key to the pages either.
    const withToken = await request(t.app).get('/admin/users').set('Authorization', `Bearer ${login.body.access_token}`);
    expect(withToken.status).toBe(303);
    expect(withToken.headers.location).toMatch(/^\/login/);
  });

  it('when an admin logs in to the API, then it is refused, unless API_ALLOW_ADMINS=1', async () => {
    const refused = await request(t.app).post('/api/auth/login').send(TEST_ADMIN);
    expect(refused.status).toBe(401);
    expect(refused.body.access_token).toBeUndefined();

    const permissive = await buildTestApp(database, { API_ALLOW_ADMINS: '1' });
    try {
      const allowed = await request(permissive.app).post('/api/auth/login').send(TEST_ADMIN);
      expect(allowed.status).toBe(200);
      const list = await request(permissive.app).get('/api/users').set('Authorization', `Bearer ${allowed.body.access_token}`);
      expect(list.status).toBe(200);
      // The setting opens the API to admins; it never opens the pages to api accounts.
      const agent = request.agent(permissive.app);
      const page = await agent.get('/login');
      const signIn = await agent
        .post('/login')
        .type('form')
        .send({ ...TEST_API_ACCOUNT, _csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)![1]! });
      expect(signIn.status).toBe(401);
    } finally {
      await permissive.close();
    }
  });
});

describe('a token is bound to the instance that issued it (M1)', () => {
  it('when another instance, with the same secret or another one, gets the token, then it refuses it', async () => {
    const others: TestApp[] = [];
    const databases: TestDatabase[] = [];
    try {
      const instance = async (code: string, env: Record<string, string> = {}) => {
        const db = await createTestDatabase();
        databases.push(db);
        const app = await buildTestApp(db, { APP_LOCATION_CODE: code, ...env });
        others.push(app);
        return { app, account: await createApiAccount(app) };
      };
      const dev = await instance('DEV');
      const sameSecret = await instance('TEST');
      const otherSecret = await instance('PROD', { JWT_SECRET: 'prod-only-jwt-secret-0123456789-abcdefghijklmn' });
      // The same user id on every instance: only the binding tells the tokens apart.
      expect(sameSecret.account.id).toBe(dev.account.id);
      expect(otherSecret.account.id).toBe(dev.account.id);

      const login = await request(dev.app.app).post('/api/auth/login').send(TEST_API_ACCOUNT);
      expect(login.status).toBe(200);
      const token = login.body.access_token as string;
      expect((await request(dev.app.app).get('/api/users').set('Authorization', `Bearer ${token}`)).status).toBe(200);

      for (const [other, reason] of [
        [sameSecret.app, /audience invalid/],
        [otherSecret.app, /invalid signature/],
        [t, /audience invalid/],
      ] as const) {
        const logStart = other.logs.lines.length;
        const response = await request(other.app).get('/api/users').set('Authorization', `Bearer ${token}`);
        expect(response.status).toBe(401);
        const refused = other.logs
          .entries()
          .slice(logStart)
          .find((e) => e.msg === 'api token refused');
        expect(String(refused?.reason)).toMatch(reason);
      }
      expect(jwt.decode(token)).toMatchObject({ aud: 'sinkron-api:DEV' });
    } finally {
      for (const app of others) await app.close();
      for (const db of databases) await db.drop();
    }
  });
});

describe('a password reset ends the account everywhere (L4)', () => {
  it('when the admin and the api account get new passwords, then their sessions and tokens stop working at once', async () => {
    const browser = await signedInAgent(t.app);
    expect((await browser.get('/admin/users')).status).toBe(200);
    const login = await request(t.app).post('/api/auth/login').send(TEST_API_ACCOUNT);
    const token = login.body.access_token as string;
    expect((await request(t.app).get('/api/users').set('Authorization', `Bearer ${token}`)).status).toBe(200);

    // What `npm run admin:create` does for each (same password: a reset is a reset).
    await t.container.services.auth.createOrResetAccount(TEST_ADMIN.email, TEST_ADMIN.password);
    await createApiAccount(t);

    const page = await browser.get('/admin/users');
    expect(page.status).toBe(303);
    expect(page.headers.location).toMatch(/^\/login/);
    expect((await request(t.app).get('/api/users').set('Authorization', `Bearer ${token}`)).status).toBe(401);
    // Signing in again works, with the new version.
    expect((await (await signedInAgent(t.app)).get('/admin/users')).status).toBe(200);
    const again = await request(t.app).post('/api/auth/login').send(TEST_API_ACCOUNT);
    expect((await request(t.app).get('/api/users').set('Authorization', `Bearer ${again.body.access_token}`)).status).toBe(200);
  });
});
