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
