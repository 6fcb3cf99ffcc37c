import jwt from 'jsonwebtoken';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createApiAccount, TEST_ADMIN, TEST_API_ACCOUNT, TEST_SECRETS, useTestApp, type TestApp } from '../support/app';
import type { TestDatabase } from '../support/database';

let database: TestDatabase;
let t: TestApp;
let apiId: number;

const CONTRACT_FIELDS = ['email', 'id', 'is_active', 'name', 'role', 'updated_at'];

async function loginToken(app = t.app, credentials = TEST_API_ACCOUNT): Promise<string> {
  const response = await request(app).post('/api/auth/login').send(credentials);
  expect(response.status).toBe(200);
  return response.body.access_token as string;
}

const signed = (claims: Record<string, unknown>, secret = TEST_SECRETS.JWT_SECRET, options: jwt.SignOptions = {}) =>
  jwt.sign({ sub: String(apiId), iss: 'sinkron', aud: 'sinkron-api:LOCAL', ver: 0, ...claims }, secret, { algorithm: 'HS256', ...options });

useTestApp((ctx) => ({ database, t } = ctx));
beforeAll(async () => {
  apiId = (await createApiAccount(t)).id;
  const own = t.container.ownLocation.id;
  const other = await t.container.repositories.locations.ensure({ code: 'DEV', name: 'Dev', onlineUrl: null });
  // 23 members, the admin and the API account: 25 own users.
  await database.db('users').insert([
    ...Array.from({ length: 23 }, (_, i) => ({
      location_id: own,
      email: `member${String(i + 1).padStart(2, '0')}@sinkron.test`,
      name: `Member ${i + 1}`,
      role: 'vendor',
      is_active: i % 5 !== 0,
    })),
    { location_id: other.id, email: 'elsewhere@dev.test', name: 'Elsewhere', role: 'admin' },
  ]);
});

describe('POST /api/auth/login', () => {
  it('gives an active API account an HS256 token with subject, issuer, audience, token version and expiry, and no cookie', async () => {
    const response = await request(t.app).post('/api/auth/login').send(TEST_API_ACCOUNT);
    expect(response.status).toBe(200);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.body).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    const decoded = jwt.decode(response.body.access_token, { complete: true })!;
    expect(decoded.header.alg).toBe('HS256');
    expect(decoded.payload).toMatchObject({ sub: String(apiId), iss: 'sinkron', aud: 'sinkron-api:LOCAL', ver: 0 });
    const payload = decoded.payload as jwt.JwtPayload;
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('answers a wrong password and an unknown email with the same 401 body', async () => {
    const wrong = await request(t.app).post('/api/auth/login').send({ email: TEST_API_ACCOUNT.email, password: 'not it at all' });
    const unknown = await request(t.app).post('/api/auth/login').send({ email: 'nobody@sinkron.test', password: 'not it at all' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'Invalid email or password.' });
    expect(unknown.body).toEqual(wrong.body);
  });

  it('refuses an admin, an inactive API account, a synced user without a password and another location’s API account', async () => {
    const hash = (await database.db('users').where({ id: apiId }).first('password_hash')).password_hash;
    const dev = await t.container.repositories.locations.findByCode('DEV');
    const refused = ['inactive-api@sinkron.test', 'synced-api@sinkron.test', 'dev-api@sinkron.test'];
    await database.db('users').insert([
      { location_id: t.container.ownLocation.id, email: refused[0], role: 'api', is_active: false, password_hash: hash },
      { location_id: t.container.ownLocation.id, email: refused[1], role: 'api', is_active: true, password_hash: null },
      { location_id: dev!.id, email: refused[2], role: 'api', is_active: true, password_hash: hash },
    ]);
    for (const email of refused) {
      const response = await request(t.app).post('/api/auth/login').send({ email, password: TEST_API_ACCOUNT.password });
      expect(response.status, email).toBe(401);
      expect(response.body, email).toEqual({ error: 'Invalid email or password.' });
    }
    const admin = await request(t.app).post('/api/auth/login').send(TEST_ADMIN);
    expect(admin.status).toBe(401);
    expect(admin.body).toEqual({ error: 'Invalid email or password.' });
    await database.db('users').whereIn('email', refused).delete();
  });

  it('answers a body without email or password with 422 and malformed JSON with 400, both in JSON', async () => {
    const missing = await request(t.app).post('/api/auth/login').send({ email: TEST_API_ACCOUNT.email });
    expect(missing.status).toBe(422);
    expect(missing.body.error).toMatch(/email and a password/);
    const malformed = await request(t.app).post('/api/auth/login').set('Content-Type', 'application/json').send('{"email": ');
    expect(malformed.status).toBe(400);
    expect(malformed.headers['content-type']).toMatch(/json/);
    expect(malformed.body).toHaveProperty('error');
  });

  it('needs no CSRF token and sets no session', async () => {
    const response = await request(t.app).post('/api/auth/login').send(TEST_API_ACCOUNT);
    expect(response.status).toBe(200);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('rate limits failed logins with a JSON 429, not counting successful ones', async () => {
    const limited = await buildTestApp(database, { LOGIN_RATE_LIMIT_MAX: '3' });
    const statuses: number[] = [];
    await loginToken(limited.app);
    for (let i = 0; i < 4; i += 1) {
      const response = await request(limited.app)
        .post('/api/auth/login')
        .send({ email: TEST_API_ACCOUNT.email, password: `guess ${i}` });
      statuses.push(response.status);
      if (response.status === 429) expect(response.body.error).toMatch(/Too many failed logins/);
    }
    await limited.close();
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe('GET /api/users', () => {
  it('lists the own location’s users by id in the resource shape, with only the contract fields', async () => {
    const token = await loginToken();
    const response = await request(t.app).get('/api/users?page=2&per_page=10').set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(200);
    expect(response.headers['set-cookie']).toBeUndefined();
    const { data, links, meta } = response.body;
    expect(meta).toMatchObject({ current_page: 2, from: 11, last_page: 3, per_page: 10, to: 20, total: 25 });
    // No PUBLIC_URL here: the links are paths on the origin the client asked.
    expect(meta.path).toBe('/api/users');
    // The next link carries the page's last id, so a client that follows it is served by key.
    expect(links.next).toBe(`${meta.path}?page=3&per_page=10&after_id=${data[9].id}`);
    expect(links.prev).toBe(`${meta.path}?page=1&per_page=10`);
    expect(links.first).toBe(`${meta.path}?page=1&per_page=10`);
    expect(links.last).toBe(`${meta.path}?page=3&per_page=10`);
    expect(data).toHaveLength(10);
    const ids = data.map((u: { id: number }) => u.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const user of data) {
      expect(Object.keys(user).sort()).toEqual(CONTRACT_FIELDS);
      expect(user.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    expect(response.text).not.toMatch(/password|argon2/);
  });

  it('serves every own user once across pages, including inactive ones, and none of another location', async () => {
    const token = await loginToken();
    const seen: Array<{ email: string; is_active: boolean }> = [];
    for (let page = 1; page <= 3; page += 1) {
      const response = await request(t.app).get(`/api/users?page=${page}&per_page=10`).set('Authorization', `Bearer ${token}`);
      seen.push(...response.body.data);
      if (page === 3) expect(response.body.links.next).toBeNull();
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen.map((u) => u.email)).size).toBe(25);
    expect(seen.map((u) => u.email)).not.toContain('elsewhere@dev.test');
    expect(seen.find((u) => u.email === 'member01@sinkron.test')?.is_active).toBe(false);
  });

  it('serves the same users by following the next links (keyset) as by page numbers', async () => {
    const token = await loginToken();
    const byNumber: number[] = [];
    for (let page = 1; page <= 3; page += 1) {
      const response = await request(t.app).get(`/api/users?page=${page}&per_page=7`).set('Authorization', `Bearer ${token}`);
      byNumber.push(...response.body.data.map((u: { id: number }) => u.id));
    }
    const byLink: number[] = [];
    let next: string | null = '/api/users?page=1&per_page=7';
    let pages = 0;
    while (next) {
      const response: request.Response = await request(t.app).get(next).set('Authorization', `Bearer ${token}`);
      expect(response.body.meta).toMatchObject({ current_page: pages + 1, total: 25, last_page: 4 });
      byLink.push(...response.body.data.map((u: { id: number }) => u.id));
      next = response.body.links.next;
      pages += 1;
    }
    expect(pages).toBe(4);
    expect(byLink).toHaveLength(25);
    expect(byLink.slice(0, 21)).toEqual(byNumber);
    expect(new Set(byLink).size).toBe(25);
  });

  it('answers HEAD with the page’s headers and length but no body', async () => {
    const token = await loginToken();
    const get = await request(t.app).get('/api/users?page=1&per_page=5').set('Authorization', `Bearer ${token}`);
    const head = await request(t.app).head('/api/users?page=1&per_page=5').set('Authorization', `Bearer ${token}`);
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toMatch(/^application\/json/);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.text ?? '').toBe('');
  });

  it('defaults per_page to 500, clamps it to 1000 and reads a bad page as page 1', async () => {
    const token = await loginToken();
    const plain = await request(t.app).get('/api/users').set('Authorization', `Bearer ${token}`);
    expect(plain.body.meta).toMatchObject({ per_page: 500, current_page: 1, last_page: 1 });
    const huge = await request(t.app).get('/api/users?per_page=5000&page=abc').set('Authorization', `Bearer ${token}`);
    expect(huge.body.meta).toMatchObject({ per_page: 1000, current_page: 1 });
    const beyond = await request(t.app).get('/api/users?page=9&per_page=10').set('Authorization', `Bearer ${token}`);
    expect(beyond.body.data).toEqual([]);
    expect(beyond.body.meta).toMatchObject({ current_page: 9, from: null, to: null, last_page: 3 });
    expect(beyond.body.links.next).toBeNull();
  });

  it.each([
    ['no token', undefined],
    ['a token signed with alg none', 'none'],
    ['a token signed with another secret', 'other-secret'],
    ['an expired token', 'expired'],
    ['a token for another audience', 'aud'],
    ['a token from another issuer', 'iss'],
    ['a token signed with HS512', 'hs512'],
    ['a token without expiry', 'no-exp'],
    ['a token for a user who does not exist', 'ghost'],
    ['garbage', 'garbage'],
  ])('answers %s with a JSON 401', async (_label, variant) => {
    const now = Math.floor(Date.now() / 1000);
    const tokens: Record<string, string> = {
      none: `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(
        JSON.stringify({ sub: String(apiId), iss: 'sinkron', aud: 'sinkron-api:LOCAL', ver: 0, exp: now + 600 }),
      ).toString('base64url')}.`,
      'other-secret': signed({ exp: now + 600 }, 'another-secret-0123456789-abcdefghijklmnopqrstuv'),
      expired: signed({ exp: now - 10 }),
      aud: signed({ exp: now + 600, aud: 'someone-else' }),
      iss: signed({ exp: now + 600, iss: 'someone-else' }),
      hs512: signed({ exp: now + 600 }, TEST_SECRETS.JWT_SECRET, { algorithm: 'HS512' }),
      garbage: 'not.a.token',
      'no-exp': signed({}),
      ghost: signed({ exp: now + 600, sub: '999999' }),
    };
    // The control: the same claims, signed properly, are accepted.
    expect(
      (
        await request(t.app)
          .get('/api/users')
          .set('Authorization', `Bearer ${signed({ exp: now + 600 })}`)
      ).status,
    ).toBe(200);
    const call = request(t.app).get('/api/users');
    if (variant) call.set('Authorization', `Bearer ${tokens[variant]}`);
    const response = await call;
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'Unauthenticated.' });
  });

  it('stops accepting the token of an API account that was deactivated', async () => {
    const hash = (await database.db('users').where({ id: apiId }).first('password_hash')).password_hash;
    await database.db('users').insert({
      location_id: t.container.ownLocation.id,
      email: 'second-api@sinkron.test',
      role: 'api',
      is_active: true,
      password_hash: hash,
    });
    const token = await loginToken(t.app, { email: 'second-api@sinkron.test', password: TEST_API_ACCOUNT.password });
    expect((await request(t.app).get('/api/users').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    await database.db('users').where({ email: 'second-api@sinkron.test' }).update({ is_active: false });
    const after = await request(t.app).get('/api/users').set('Authorization', `Bearer ${token}`);
    expect(after.status).toBe(401);
    await database.db('users').where({ email: 'second-api@sinkron.test' }).delete();
  });
});

describe('errors under /api', () => {
  it('answers unknown paths and methods with a JSON 404, never an HTML page', async () => {
    for (const call of [request(t.app).get('/api/nothing-here'), request(t.app).post('/api/users').send({}), request(t.app).get('/api')]) {
      const response = await call;
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toMatch(/application\/json/);
      expect(response.body).toEqual({ error: 'Not found' });
    }
  });

  it('never writes a token or a password into the logs', async () => {
    const token = await loginToken();
    await request(t.app).get('/api/users').set('Authorization', `Bearer ${token}`);
    expect(t.logs.text()).not.toContain(token);
    expect(t.logs.text()).not.toContain(TEST_API_ACCOUNT.password);
  });
});
