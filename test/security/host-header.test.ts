import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiAccount, TEST_API_ACCOUNT, useTestApp, type TestApp } from '../support/app';
import type { TestDatabase } from '../support/database';

// Issue 26, finding 7: the served API built its links from the request's Host header, so whoever sent the
// request chose where a client following `links.next` would go (and where it would send its token).

const FORGED = {
  Host: 'evil.example',
  'X-Forwarded-Host': 'evil.example',
  'X-Forwarded-Proto': 'https',
};

async function pageWithForgedHost(t: TestApp) {
  const login = await request(t.app).post('/api/auth/login').set(FORGED).send(TEST_API_ACCOUNT);
  expect(login.status).toBe(200);
  const response = await request(t.app).get('/api/users?page=2&per_page=2').set(FORGED).set('Authorization', `Bearer ${login.body.access_token}`);
  expect(response.status).toBe(200);
  return response;
}

async function seed(database: TestDatabase, t: TestApp) {
  await createApiAccount(t);
  await database
    .db('users')
    .insert(
      Array.from({ length: 5 }, (_, i) => ({ location_id: t.container.ownLocation.id, email: `member${i}@sinkron.test`, name: `Member ${i}` })),
    );
}

describe('the served API without PUBLIC_URL', () => {
  let database: TestDatabase;
  let t: TestApp;
  useTestApp((ctx) => ({ database, t } = ctx));
  beforeAll(async () => seed(database, t));

  it('when a request names another host, then its links are paths on this origin and never name that host', async () => {
    const response = await pageWithForgedHost(t);
    const { links, meta, data } = response.body;
    expect(response.text).not.toContain('evil.example');
    expect(meta.path).toBe('/api/users');
    expect(links).toEqual({
      first: '/api/users?page=1&per_page=2',
      last: `/api/users?page=${meta.last_page}&per_page=2`,
      prev: '/api/users?page=1&per_page=2',
      next: `/api/users?page=3&per_page=2&after_id=${data[1].id}`,
    });
  });
});

describe('the served API with PUBLIC_URL (behind a proxy under a sub-path)', () => {
  let database: TestDatabase;
  let t: TestApp;
  useTestApp(
    (ctx) => ({ database, t } = ctx),
    () => ({ PUBLIC_URL: 'https://sinkron.example.com/sync/', TRUST_PROXY: '1' }),
  );
  beforeAll(async () => seed(database, t));

  it('when a request names another host, then its links start with PUBLIC_URL, path prefix kept', async () => {
    const response = await pageWithForgedHost(t);
    const { links, meta } = response.body;
    expect(response.text).not.toContain('evil.example');
    expect(meta.path).toBe('https://sinkron.example.com/sync/api/users');
    for (const link of [links.first, links.last, links.prev, links.next]) {
      expect(link).toMatch(/^https:\/\/sinkron\.example\.com\/sync\/api\/users\?page=\d+&per_page=2(&after_id=\d+)?$/);
    }
  });
});
