import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN, useTestApp, type TestApp } from '../support/app';
import { csrfFrom, signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, executeSync, insertUsers, previewSync, runRow } from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let remote: LaravelServer;

const HOSTILE_NAMES = [
  '<script>alert("name")</script>',
  '<img src=x onerror=alert(1)>',
  'javascript:alert(1)',
  '"><svg onload=alert(1)>',
  "'; alert(1); '",
];

/** Markup that would run or load something if a value were written into the page unescaped. */
function expectNoActiveMarkup(html: string): void {
  expect(html).not.toMatch(/<script(?![^>]*\bsrc="\/assets\/)[^>]*>/i);
  expect(html).not.toMatch(/<img[^>]*onerror/i);
  expect(html).not.toMatch(/<svg[^>]*onload/i);
  expect(html).not.toMatch(/\shref="\s*javascript:/i);
}

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => REMOTE_ENV,
);
beforeAll(async () => {
  const [evil] = await database
    .db('locations')
    .insert({ code: 'EVIL', name: '<script>alert("location")</script>', online_url: 'http://127.0.0.1:9' })
    .returning('id');
  await database.db('users').insert(
    HOSTILE_NAMES.map((name, i) => ({
      location_id: evil.id,
      email: i === 2 ? 'javascript:alert(1)//@evil.test' : `hostile${i}+<b>@evil.test`,
      name,
      role: '<i>admin</i>',
    })),
  );
  agent = await signedInAgent(t.app);
});
afterAll(async () => {
  await remote?.close();
});

describe('hostile names and emails of synced users', () => {
  it('when the users list shows them, then they appear as text, escaped', async () => {
    const page = await agent.get('/admin/users?location=EVIL');
    expect(page.status).toBe(200);
    expectNoActiveMarkup(page.text);
    expect(page.text).toContain('&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;');
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).toContain('&#34;&gt;&lt;svg onload=alert(1)&gt;');
    expect(page.text).toContain('hostile0+&lt;b&gt;@evil.test');
    expect(page.text).toContain('&lt;i&gt;admin&lt;/i&gt;');
    // javascript: stays text in a cell, never a link target.
    expect(page.text).toContain('<th scope="row" class="key">javascript:alert(1)//@evil.test</th>');
  });

  it('when a location name is hostile, then the users page dropdown and the locations page escape it', async () => {
    for (const path of ['/admin/users', '/admin/locations']) {
      const page = await agent.get(path);
      expect(page.status, path).toBe(200);
      expectNoActiveMarkup(page.text);
      expect(page.text, path).toContain('&lt;script&gt;alert(&#34;location&#34;)&lt;/script&gt;');
    }
  });

  it('when a search reflects a hostile query, then it is escaped in the field and the caption', async () => {
    const page = await agent.get('/admin/users').query({ q: '"><script>alert(1)</script>', location: '<img src=x onerror=alert(1)>' });
    expect(page.status).toBe(200);
    expectNoActiveMarkup(page.text);
    expect(page.text).toContain('value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it('when the sign-in page reflects a hostile next= or email, then both are escaped', async () => {
    const stranger = request.agent(t.app);
    const page = await stranger.get('/login').query({ next: '/"><script>alert(1)</script>' });
    expect(page.status).toBe(200);
    expectNoActiveMarkup(page.text);
    const failed = await stranger
      .post('/login')
      .type('form')
      .send({ email: '"><svg/onload=alert(1)>@evil.test', password: 'x', _csrf: csrfFrom(page.text) });
    expect(failed.status).toBe(401);
    expectNoActiveMarkup(failed.text);
    expect(failed.text).toContain('value="&#34;&gt;&lt;svg/onload=alert(1)&gt;@evil.test"');
  });

  it('when a sign-in asks to go on to another site, then it stays on Sinkron', async () => {
    const stranger = request.agent(t.app);
    for (const next of ['//evil.test/', 'https://evil.test/', '/\\evil.test', 'javascript:alert(1)']) {
      const page = await stranger.get('/login').query({ next });
      expect(page.text, next).toContain('action="/login?next=%2Fadmin%2Fusers"');
    }
    // Browsers drop tabs and newlines from a Location; what is left must still be a path on this site.
    for (const next of ['/\t/evil.test/', '/\n/evil.test/', '/\r\n/evil.test/', '//evil.test/']) {
      const browser = request.agent(t.app);
      const page = await browser.get('/login');
      const response = await browser
        .post(`/login?next=${encodeURIComponent(next)}`)
        .type('form')
        .send({ ...TEST_ADMIN, _csrf: csrfFrom(page.text) });
      expect(response.status, JSON.stringify(next)).toBe(303);
      const location = String(response.headers.location).replace(/[\t\n\r]/g, '');
      expect(location, JSON.stringify(next)).toMatch(/^\/(?![/\\])/);
    }
  });
});

describe('hostile names coming from a remote through a sync', () => {
  it('when previewed, executed and listed, then the preview, the result, the history and the users list show them as text', async () => {
    remote = await startLaravelServer({
      users: [
        ...HOSTILE_NAMES.map((name, i) => ({
          id: i + 1,
          name,
          email: `remote${i}@xss.test`,
          role: '<b onmouseover=alert(1)>admin</b>',
          is_active: true,
        })),
        { id: 50, name: 'Updated <img src=x onerror=alert(2)>', email: 'known@xss.test', role: 'vendor', is_active: true },
        { id: 51, name: 'Rejected row', email: '<script>alert("rejected")</script>', role: 'vendor', is_active: true },
        { id: 52, name: '<svg onload=alert(3)>', email: 'javascript:alert(3)', role: 'vendor', is_active: true },
      ],
    });
    const locationId = await addLocation(database.db, 'XSS', remote.url);
    await database.db('locations').where({ id: locationId }).update({ name: '<img src=x onerror=alert("loc")>' });
    await insertUsers(database.db, locationId, [
      { email: 'known@xss.test', name: '<script>alert("before")</script>', role: 'vendor', remote_id: '50' },
      { email: 'leaving@xss.test', name: '<svg onload=alert("leaving")>', role: 'vendor' },
    ]);

    const runId = await previewSync(agent, locationId);
    expect(await runRow(database.db, runId)).toMatchObject({
      status: 'previewed',
      new_count: HOSTILE_NAMES.length,
      update_count: 1,
      deactivate_count: 1,
    });
    const preview = await agent.get(`/admin/users/sync/${runId}`);
    expect(preview.status).toBe(200);
    expectNoActiveMarkup(preview.text);
    expect(preview.text).toContain('&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;');
    expect(preview.text).toContain('&lt;script&gt;alert(&#34;before&#34;)&lt;/script&gt;');
    expect(preview.text).toContain('Updated &lt;img src=x onerror=alert(2)&gt;');
    expect(preview.text).toContain('&lt;svg onload=alert(&#34;leaving&#34;)&gt;');
    expect(preview.text).toContain('&lt;script&gt;alert(&#34;rejected&#34;)&lt;/script&gt;');
    expect(preview.text).toContain('&lt;img src=x onerror=alert(&#34;loc&#34;)&gt;');

    expect((await executeSync(agent, runId)).status).toBe(303);
    for (const path of [`/admin/users/sync/${runId}`, '/admin/sync-runs', '/admin/sync-runs?location=XSS', '/admin/users?location=XSS']) {
      const page = await agent.get(path);
      expect(page.status, path).toBe(200);
      expectNoActiveMarkup(page.text);
      expect(page.text, path).not.toContain('<img src=x onerror=alert("loc")>');
    }
    const list = await agent.get('/admin/users?location=XSS');
    expect(list.text).toContain('&lt;b onmouseover=alert(1)&gt;admin&lt;/b&gt;');
  });
});

describe('Content-Security-Policy on every page', () => {
  it('forbids inline script and foreign sources on the pages that show remote data', async () => {
    for (const path of ['/login', '/admin/users', '/admin/locations', '/admin/sync-runs', '/no/such/page']) {
      const page = await agent.get(path);
      const csp = String(page.headers['content-security-policy']);
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("object-src 'none'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(csp, path).not.toContain('unsafe-eval');
      expect(page.headers['x-content-type-options'], path).toBe('nosniff');
    }
  });
});
