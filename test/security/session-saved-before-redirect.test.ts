import http from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { createSessionStore } from '../../src/platform/db/session-store';
import { listen, TEST_ADMIN, useTestApp, type TestApp } from '../support/app';
import { csrfFrom } from '../support/browser-session';
import type { TestDatabase } from '../support/database';

let database: TestDatabase;
let t: TestApp;
let server: { url: string; close(): Promise<void> };
let closeStore: () => Promise<void>;

// The store answers its writes late, as a busy database does; the race below needs nothing else.
const STORE_WRITE_DELAY_MS = 500;

useTestApp((ctx) => ({ database, t } = ctx));
beforeAll(async () => {
  const sessions = createSessionStore(database.url, { pruneIntervalSeconds: false, logger: t.logs.logger });
  const set = sessions.store.set.bind(sessions.store);
  sessions.store.set = (sid, session, callback) => void setTimeout(() => set(sid, session, callback), STORE_WRITE_DELAY_MS);
  closeStore = () => sessions.close();
  server = await listen(createApp({ ...t.container, sessionStore: sessions.store }));
});
afterAll(async () => {
  await server.close();
  await closeStore();
});

/** POSTs a form and resolves as soon as the status line and headers arrive, as a browser follows a 303. */
function postAndTakeHeaders(path: string, cookie: string, form: Record<string, string>) {
  return new Promise<http.IncomingMessage>((resolve, reject) => {
    const body = new URLSearchParams(form).toString();
    const req = http.request(`${server.url}${path}`, {
      method: 'POST',
      headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => {
      resolve(res);
      res.resume();
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('when the browser follows the sign-in redirect before the session store has answered', () => {
  it('then the next page already finds the signed-in session and its flash message', async () => {
    const form = await request(server.url).get('/login');
    const loginCookie = ([] as string[])
      .concat(form.headers['set-cookie'] ?? [])
      .find((c) => c.startsWith('sinkron.login='))!
      .split(';')[0]!;

    const signIn = await postAndTakeHeaders('/login', loginCookie, { ...TEST_ADMIN, _csrf: csrfFrom(form.text) });
    expect(signIn.statusCode).toBe(303);
    const session = ([] as string[])
      .concat(signIn.headers['set-cookie'] ?? [])
      .find((c) => c.startsWith('sinkron.sid='))!
      .split(';')[0]!;

    const next = await request(server.url).get(signIn.headers.location!).set('Cookie', session);
    expect(next.status).toBe(200);
    expect(next.text).toContain(`Signed in as ${TEST_ADMIN.email}.`);
  });
});
