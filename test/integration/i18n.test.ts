import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_ADMIN, type TestApp } from '../support/app';
import { csrfFrom, csrfToken, postForm, signedInAgent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';

let database: TestDatabase;
let indonesian: TestApp;

const htmlLang = (html: string) => /<html lang="([^"]+)">/.exec(html)?.[1];

beforeAll(async () => {
  database = await createTestDatabase();
  // As shipped: DEFAULT_LANGUAGE unset means Indonesian (the suite's helper defaults to English).
  indonesian = await buildTestApp(database, { DEFAULT_LANGUAGE: 'id' });
  const [dev] = await database.db('locations').insert({ code: 'DEV', name: 'Development', online_url: null }).returning('id');
  await database.db('users').insert({
    location_id: dev.id,
    email: 'synced@dev.test',
    name: 'Synced',
    is_active: false,
    last_synced_at: new Date('2026-11-30T07:06:00Z'),
  });
});
afterAll(async () => {
  await indonesian.close();
  await database.drop();
});

describe('the page language', () => {
  it('is DEFAULT_LANGUAGE when the browser names no language Sinkron has', async () => {
    for (const header of [undefined, 'fr-FR, de;q=0.8']) {
      const page = await (header ? request(indonesian.app).get('/login').set('Accept-Language', header) : request(indonesian.app).get('/login'));
      expect(htmlLang(page.text)).toBe('id');
      expect(page.text).toContain('<h1 id="login-heading">Masuk</h1>');
      expect(page.text).toContain('<label for="password">Kata sandi</label>');
      expect(page.headers['content-language']).toBe('id');
    }
  });

  it("follows the browser's Accept-Language", async () => {
    const page = await request(indonesian.app).get('/login').set('Accept-Language', 'en-US,en;q=0.9,id;q=0.5');
    expect(htmlLang(page.text)).toBe('en');
    expect(page.text).toContain('<h1 id="login-heading">Sign in</h1>');
  });

  it('shows a refused sign-in, the 404 page and a refused form in Indonesian', async () => {
    const agent = request.agent(indonesian.app);
    const token = await csrfToken(agent);
    const refused = await agent.post('/login').type('form').send({ email: TEST_ADMIN.email, password: 'wrong password!', _csrf: token });
    expect(refused.status).toBe(401);
    expect(refused.text).toContain('Email atau kata sandi salah.');

    const missing = await agent.get('/no-such-page');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('Halaman tidak ditemukan');

    const forged = await agent.post('/login').type('form').send({ email: TEST_ADMIN.email, password: TEST_ADMIN.password, _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(htmlLang(forged.text)).toBe('id');
    expect(forged.text).toContain('Formulir ini sudah kedaluwarsa atau tidak berasal dari Sinkron.');
  });

  it('translates validation messages and puts the error summary first in the form', async () => {
    const agent = await signedInAgent(indonesian.app);
    const response = await postForm(agent, '/admin/locations', { code: 'BAD CODE', name: '', online_url: '' });
    expect(response.status).toBe(422);
    const form = /<form method="post" action="\/admin\/locations" class="form" novalidate>([\s\S]*?)<\/form>/.exec(response.text)?.[1] ?? '';
    expect(form.trim()).toMatch(/^<div class="alert alert-error error-summary" role="alert" tabindex="-1" data-error-summary/);
    expect(form).toContain('<a href="#code">Gunakan 1 sampai 32 huruf, angka, _ atau -.</a>');
    expect(form).toContain('<a href="#name">Isi nama lokasi.</a>');
    expect(await database.db('locations').where({ code: 'BAD CODE' }).first()).toBeUndefined();
  });

  it('shows times in WIB and the Indonesian terms on User Management', async () => {
    const agent = await signedInAgent(indonesian.app);
    const page = await agent.get('/admin/users?location=DEV');
    expect(page.text).toContain('<h1>Manajemen Pengguna</h1>');
    expect(page.text).toContain('Sinkronkan dari Server');
    expect(page.text).toContain('30 Nov 2026 14.06 WIB');
    expect(page.text).toContain('<span class="badge badge-muted">Nonaktif</span>');
    // The two location selects are told apart by their labels.
    expect(page.text).toContain('<label for="sync-location">Lokasi yang disinkronkan</label>');
    expect(page.text).toContain('<label for="filter-location">Tampilkan pengguna lokasi</label>');
  });

  it('shows times in DISPLAY_TIMEZONE', async () => {
    const makassar = await buildTestApp(database, { DEFAULT_LANGUAGE: 'id', DISPLAY_TIMEZONE: 'Asia/Makassar' });
    try {
      const page = await (await signedInAgent(makassar.app)).get('/admin/users?location=DEV');
      expect(page.text).toContain('30 Nov 2026 15.06 WITA');
      expect(await database.db('users').where({ email: 'synced@dev.test' }).first('last_synced_at')).toEqual({
        last_synced_at: new Date('2026-11-30T07:06:00Z'),
      });
    } finally {
      await makassar.close();
    }
  });
});

describe('the language switch', () => {
  it('works as a plain form POST, goes back to the page, and is remembered for the admin at the next sign-in', async () => {
    const agent = await signedInAgent(indonesian.app);
    const users = await agent.get('/admin/users');
    expect(users.text).toContain(
      '<button type="submit" name="language" value="en" lang="en" class="language-option" aria-pressed="false">English</button>',
    );

    const switched = await agent
      .post('/language')
      .type('form')
      .send({ language: 'en', next: '/admin/users?location=DEV', _csrf: csrfFrom(users.text) });
    expect(switched.status).toBe(303);
    expect(switched.headers.location).toBe('/admin/users?location=DEV');
    const after = await agent.get('/admin/users?location=DEV');
    expect(htmlLang(after.text)).toBe('en');
    expect(after.text).toContain('The language is now English.');
    expect(after.text).toContain('30 Nov 2026 14:06 WIB');
    expect(await database.db('users').where({ email: TEST_ADMIN.email }).first('language')).toEqual({ language: 'en' });

    // A new browser (no session, no Accept-Language) signs in: the admin's choice comes back.
    const later = await signedInAgent(indonesian.app);
    expect(htmlLang((await later.get('/admin/users')).text)).toBe('en');

    // Back to Indonesian, for the tests after this one.
    const page = await later.get('/admin/users');
    await later
      .post('/language')
      .type('form')
      .send({ language: 'id', next: '/admin/users', _csrf: csrfFrom(page.text) });
    expect(htmlLang((await later.get('/admin/users')).text)).toBe('id');
  });

  it("works on the sign-in page without a session, and the choice becomes the admin's at sign-in when they have none", async () => {
    await database.db('users').where({ email: TEST_ADMIN.email }).update({ language: null });
    const agent = request.agent(indonesian.app);
    const token = await csrfToken(agent);
    const switched = await agent.post('/login/language').type('form').send({ language: 'en', next: '//evil.example/', _csrf: token });
    expect(switched.status).toBe(303);
    expect(switched.headers.location).toBe('/login');
    expect(String(switched.headers['set-cookie'])).not.toMatch(/sinkron\.sid=/);
    expect(htmlLang((await agent.get('/login')).text)).toBe('en');

    expect((await agent.post('/login/language').type('form').send({ language: 'fr', next: '/login', _csrf: token })).status).toBe(422);
    expect((await agent.post('/login/language').type('form').send({ language: 'id', next: '/login', _csrf: 'forged' })).status).toBe(403);

    const signIn = await agent
      .post('/login')
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: await csrfToken(agent) });
    expect(signIn.status).toBe(303);
    expect(await database.db('users').where({ email: TEST_ADMIN.email }).first('language')).toEqual({ language: 'en' });
    expect(htmlLang((await agent.get('/admin/users')).text)).toBe('en');
    await database.db('users').where({ email: TEST_ADMIN.email }).update({ language: null });
  });
});
