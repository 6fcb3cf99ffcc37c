import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp, type TestApp } from '../support/app';
import { signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;

const emailsOn = (html: string) => [...html.matchAll(/<tr data-email="([^"]+)">/g)].map((m) => m[1]);

useTestApp((ctx) => ({ database, t } = ctx));
beforeAll(async () => {
  const [dev, test] = await database
    .db('locations')
    .insert([
      { code: 'DEV', name: 'Development', online_url: 'http://127.0.0.1:1' },
      { code: 'TEST', name: 'Testing', online_url: null },
    ])
    .returning('id');
  // 120 DEV users (every third inactive) and one TEST user sharing an email with DEV.
  await database.db.raw(
    `INSERT INTO users (location_id, email, name, is_active)
     SELECT ?, 'dev_user' || lpad(i::text, 3, '0') || '@dkm', 'Dev User ' || i, i % 3 <> 0 FROM generate_series(1, 120) AS i`,
    [dev.id],
  );
  await database.db('users').insert([
    { location_id: test.id, email: 'dev_user001@dkm', name: 'Copy on test' },
    { location_id: test.id, email: 'percent%user@dkm', name: 'Under_score' },
  ]);
  agent = await signedInAgent(t.app);
});

describe('User Management', () => {
  it('needs a signed-in admin', async () => {
    const response = await request(t.app).get('/admin/users');
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/login?next=%2Fadmin%2Fusers');
  });

  it('lists 50 users a page with a link to the next page', async () => {
    const first = await agent.get('/admin/users');
    expect(first.status).toBe(200);
    expect(emailsOn(first.text)).toHaveLength(50);
    expect(first.text).toContain('rel="next"');
    const third = await agent.get('/admin/users?page=3');
    expect(emailsOn(third.text)).toHaveLength(123 - 100);
    expect(third.text).not.toContain('rel="next"');
    expect(third.text).toContain('rel="prev"');
  });

  it('filters by location code and status', async () => {
    const test = await agent.get('/admin/users?location=test');
    expect(emailsOn(test.text).sort()).toEqual(['dev_user001@dkm', 'percent%user@dkm']);
    const inactiveDev = await agent.get('/admin/users?location=DEV&status=inactive&page=1');
    const emails = emailsOn(inactiveDev.text);
    expect(emails).toHaveLength(40);
    expect(emails.every((e) => Number(/\d+/.exec(e!)![0]) % 3 === 0)).toBe(true);
  });

  it('searches email and name case-insensitively, with LIKE wildcards taken literally', async () => {
    expect(emailsOn((await agent.get('/admin/users?q=DEV_USER11')).text)).toEqual([
      'dev_user110@dkm',
      'dev_user111@dkm',
      'dev_user112@dkm',
      'dev_user113@dkm',
      'dev_user114@dkm',
      'dev_user115@dkm',
      'dev_user116@dkm',
      'dev_user117@dkm',
      'dev_user118@dkm',
      'dev_user119@dkm',
    ]);
    expect(emailsOn((await agent.get('/admin/users?q=copy on')).text)).toEqual(['dev_user001@dkm']);
    expect(emailsOn((await agent.get('/admin/users?q=%25')).text)).toEqual(['percent%user@dkm']);
    expect(emailsOn((await agent.get('/admin/users?q=r_s')).text)).toEqual(['percent%user@dkm']);
    // As a wildcard, _ would match the "use" of every dev_user address.
    expect(emailsOn((await agent.get('/admin/users?q=u_e')).text)).toEqual([]);
  });

  it('treats SQL-significant input as data and ignores a bad page number', async () => {
    const injection = await agent.get(`/admin/users?q=${encodeURIComponent("' OR 1=1 --")}&location=${encodeURIComponent("DEV' --")}`);
    expect(injection.status).toBe(200);
    expect(emailsOn(injection.text)).toEqual([]);
    const badPage = await agent.get('/admin/users?page=abc');
    expect(badPage.status).toBe(200);
    expect(emailsOn(badPage.text)).toHaveLength(50);
  });

  it('offers only active locations with an online URL in the Sync from Server dropdown', async () => {
    const page = await agent.get('/admin/users');
    const select = /<select id="sync-location"[\s\S]*?<\/select>/.exec(page.text)![0];
    expect(select).toContain('DEV — Development');
    expect(select).not.toContain('TEST');
    expect(page.text).toContain('Sync from Server');
  });
});

describe('User Management states the total and the pages (issue 28, point 5)', () => {
  const captionOf = (html: string) => /<caption id="users-caption"[^>]*>([^<]*)<\/caption>/.exec(html)?.[1];
  const pagerOf = (html: string) => /<nav class="pager"[\s\S]*?<span>([^<]*)<\/span>/.exec(html)?.[1];

  it('when the list is filtered by location or not at all, then the total is exact and the pages are counted', async () => {
    const all = await agent.get('/admin/users');
    expect(captionOf(all.text)).toBe('Users: 123 users, page 1 of 3');
    expect(pagerOf(all.text)).toBe('Page 1 of 3');
    const dev = await agent.get('/admin/users?location=dev&page=2');
    expect(captionOf(dev.text)).toBe('Users of DEV: 120 users, page 2 of 3');
    const indonesian = await agent.get('/admin/users?location=DEV').set('Accept-Language', 'id');
    expect(captionOf(indonesian.text)).toBe('Pengguna DEV: 120 pengguna, halaman 1 dari 3');
    expect(pagerOf(indonesian.text)).toBe('Halaman 1 dari 3');
    expect(captionOf((await agent.get('/admin/users?location=NOSUCH')).text)).toBe('Users of NOSUCH: 0 users, page 1 of 1');
  });

  it('when the list is filtered by status or searched, then the matches are counted too', async () => {
    expect(captionOf((await agent.get('/admin/users?location=DEV&status=inactive')).text)).toBe('Users of DEV: 40 users, page 1 of 1');
    expect(captionOf((await agent.get('/admin/users?q=DEV_USER11')).text)).toBe('Users: 10 users, page 1 of 1');
    expect(captionOf((await agent.get('/admin/users?q=copy on')).text)).toBe('Users: 1 user, page 1 of 1');
  });

  it('when filtered by location alone, then the total is the one kept in location_user_counts, not a count of the users', async () => {
    const test = await database.db('locations').where({ code: 'TEST' }).first('id');
    const kept = await database.db('location_user_counts').where({ location_id: test.id }).first('users');
    expect(Number(kept.users)).toBe(2);
    try {
      await database.db('location_user_counts').where({ location_id: test.id }).update({ users: 1234 });
      const page = await agent.get('/admin/users?location=TEST').set('Accept-Language', 'id');
      expect(captionOf(page.text)).toBe('Pengguna TEST: 1.234 pengguna, halaman 1 dari 25');
    } finally {
      await database.db('location_user_counts').where({ location_id: test.id }).update({ users: kept.users });
    }
  });

  it('when a search matches more than 10,000 users, then it says "more than 10,000" and counts no further, and the pager still pages', async () => {
    const [big] = await database.db('locations').insert({ code: 'BIG', name: 'Big' }).returning('id');
    await database.db.raw(
      `INSERT INTO users (location_id, email, name) SELECT ?, 'bulk' || i || '@big.test', 'Bulk ' || i FROM generate_series(1, 10001) AS i`,
      [big.id],
    );
    const many = await agent.get('/admin/users?q=bulk');
    expect(captionOf(many.text)).toBe('Users: more than 10,000 users, page 1');
    expect(pagerOf(many.text)).toBe('Page 1');
    expect(many.text).toContain('rel="next"');
    expect(emailsOn(many.text)).toHaveLength(50);
    const indonesian = await agent.get('/admin/users?q=bulk&location=BIG&page=2').set('Accept-Language', 'id');
    expect(captionOf(indonesian.text)).toBe('Pengguna BIG: lebih dari 10.000 pengguna, halaman 2');
    // By location alone the count is exact again, whatever its size.
    expect(captionOf((await agent.get('/admin/users?location=BIG')).text)).toBe('Users of BIG: 10,001 users, page 1 of 201');
  });
});
