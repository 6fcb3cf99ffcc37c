import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp, type TestApp } from '../support/app';
import { signedInAgent, type Agent } from '../support/browser-session';
import { snapshotTables } from '../support/db-snapshot';
import type { TestDatabase } from '../support/database';
import { startLaravelServer, type Fault, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, confirmLocation, executeSync, insertUsers, previewSync, runRow } from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let devId: number;
let remote: LaravelServer | undefined;

const TIMEOUT_MS = 1000;
const MAX_BYTES = 1024 * 1024;

/** Six remote users over three pages of two; two of them differ locally, so a good sync would change rows. */
const REMOTE_USERS = [1, 2, 3, 4, 5, 6].map((i) => ({
  id: i,
  name: `Remote ${i}`,
  email: `user${i}@dev.test`,
  role: 'vendor',
  is_active: true,
}));

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({
    ...REMOTE_ENV,
    REMOTE_PER_PAGE: '2',
    REMOTE_RETRIES: '1',
    REMOTE_TIMEOUT_MS: String(TIMEOUT_MS),
    REMOTE_MAX_BYTES: String(MAX_BYTES),
  }),
);
beforeAll(async () => {
  agent = await signedInAgent(t.app);
  devId = await addLocation(database.db, 'DEV', 'http://127.0.0.1:9');
  await insertUsers(database.db, devId, [
    { email: 'user1@dev.test', name: 'Remote 1', role: 'vendor', remote_id: '1' },
    { email: 'user2@dev.test', name: 'Old name', role: 'vendor', remote_id: '2' },
    { email: 'local-only@dev.test', name: 'Local only', role: 'vendor' },
  ]);
});
afterEach(async () => {
  await remote?.close();
  remote = undefined;
});

/** A fresh Laravel-shaped server for DEV, with the given faults queued. */
async function remoteWith(faults: Fault[], users: Array<Record<string, unknown>> = REMOTE_USERS): Promise<LaravelServer> {
  remote = await startLaravelServer({ users, shape: 'resource' });
  for (const fault of faults) remote.fault(fault);
  await database.db('locations').where({ id: devId }).update({ online_url: remote.url });
  await confirmLocation(database.db, devId);
  return remote;
}

/**
 * Previews a sync that must fail: the run is failed with the message, the page shows it, the log has
 * it with its cause, no item was stored, Execute changes nothing, and users are as before.
 */
async function expectFailedPreview(expected: { message: string | RegExp }) {
  const before = await snapshotTables(database.db, ['users', 'locations']);
  const logStart = t.logs.lines.length;
  const runId = await previewSync(agent, devId);

  const run = await runRow(database.db, runId);
  expect(run.status).toBe('failed');
  expect(run.error).toMatch(expected.message);
  expect(await database.db('sync_run_items').where({ sync_run_id: runId }).count({ n: '*' }).first()).toEqual({ n: 0 });

  const page = await agent.get(`/admin/users/sync/${runId}`);
  expect(page.status).toBe(200);
  expect(page.text).toContain('This sync failed; no user was changed.');
  expect(page.text).not.toContain(`action="/admin/users/sync/${runId}/execute"`);
  const shown = /<p class="sync-error-message">([^<]*)<\/p>/.exec(page.text)?.[1] ?? '';
  expect(shown.replaceAll('&#39;', "'").replaceAll('&#34;', '"')).toBe(run.error);

  const logged = t.logs
    .entries()
    .slice(logStart)
    .find((e) => e.msg === 'sync preview failed: remote list not fetched');
  expect(logged).toMatchObject({ runId, location: 'DEV', cause: run.error });

  const execute = await executeSync(agent, runId);
  expect(execute.status).toBe(303);
  expect((await runRow(database.db, runId)).status).toBe('failed');
  expect(await snapshotTables(database.db, ['users', 'locations'])).toEqual(before);
  return { runId, message: run.error as string };
}

describe('remote faults during a preview', () => {
  it('when page 2 of 3 answers 500 after the retries, then no executable preview, and the message names location, page and status', async () => {
    const server = await remoteWith([{ kind: 'status', status: 500, page: 2, times: 2 }]);
    const { message } = await expectFailedPreview({ message: 'DEV answered HTTP 5xx on page 2 (after 1 retries)' });
    expect(message).toBe('DEV answered HTTP 5xx on page 2 (after 1 retries)');
    expect(server.requests.filter((r) => r.page === 2)).toHaveLength(2);
  });

  it('when the remote hangs past the timeout, then "could not connect to DEV" and nothing stored', async () => {
    await remoteWith([{ kind: 'hang', page: 1, times: 2 }]);
    await expectFailedPreview({ message: 'could not connect to DEV on page 1 (after 1 retries)' });
  });

  it('when the remote answers 200 with an HTML page, then it is named as not the users API with its status class', async () => {
    await remoteWith([{ kind: 'html', page: 1 }]);
    await expectFailedPreview({ message: 'DEV answered with something that is not the users API (HTTP 2xx) on page 1' });
  });

  it('when the online URL is a web site that answers its login with an HTML page, then that is named, and nothing is stored', async () => {
    const site = http.createServer((_req, res) => {
      const html = '<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>';
      res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': Buffer.byteLength(html) });
      res.end(html);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    try {
      await database
        .db('locations')
        .where({ id: devId })
        .update({ online_url: `http://127.0.0.1:${(site.address() as AddressInfo).port}` });
      await confirmLocation(database.db, devId);
      await expectFailedPreview({ message: 'DEV answered with something that is not the users API (HTTP 2xx) on the login' });
    } finally {
      await new Promise((resolve) => site.close(resolve));
    }
  });

  it('when the remote answers malformed JSON, then that is the message and nothing is stored', async () => {
    await remoteWith([{ kind: 'malformedJson', page: 3 }]);
    await expectFailedPreview({ message: 'DEV answered with malformed JSON (HTTP 2xx) on page 3' });
  });

  it('when the remote answers JSON of another shape, then that is the message and nothing is stored', async () => {
    await remoteWith([{ kind: 'wrongShape', page: 1 }]);
    await expectFailedPreview({ message: /^DEV answered page 1 with JSON that is not a users page/ });
  });

  it('when a body is far over the size limit, then it is refused at the limit without reading it all', async () => {
    // 4 GiB cannot be held as one string in Node: reaching this message shows the read stopped at the limit.
    await remoteWith([{ kind: 'oversize', page: 2, bytes: 4 * 1024 * 1024 * 1024 }]);
    await expectFailedPreview({ message: 'DEV sent more than 1 MB on page 2 (REMOTE_MAX_BYTES)' });
  });

  it('when the remote redirects to another host, then the redirect is not followed and nothing is stored', async () => {
    await remoteWith([{ kind: 'redirect', page: 1, location: 'http://169.254.169.254/latest/meta-data/' }]);
    await expectFailedPreview({ message: /^DEV answered page 1 with a redirect \(HTTP 3xx\): redirects are not followed/ });
  });

  it('when the remote serves the same page forever, then the loop is refused and nothing is stored', async () => {
    const server = await remoteWith([], REMOTE_USERS);
    server.fault({ kind: 'loop' });
    await expectFailedPreview({ message: /^DEV sent the same users on page \d+ as on page \d+: the server is looping/ });
  });
});

describe('token expiry during a preview', () => {
  it('when the token expires mid-fetch, then Sinkron logs in again once and the preview completes', async () => {
    const server = await remoteWith([{ kind: 'expireTokens', page: 2 }]);
    const runId = await previewSync(agent, devId);
    const run = await runRow(database.db, runId);
    expect(run.status).toBe('previewed');
    expect(run.remote_count).toBe(6);
    expect(server.requests.filter((r) => r.path === '/api/auth/login')).toHaveLength(2);
  });

  it('when the fresh token is refused too, then it is an authentication error naming the location and page', async () => {
    const server = await remoteWith([{ kind: 'expireTokens', page: 2, times: 2 }]);
    await expectFailedPreview({ message: /^login to DEV failed: check EXTERNAL_API_EMAIL \/ EXTERNAL_API_PASSWORD \(page 2/ });
    expect(server.requests.filter((r) => r.path === '/api/auth/login')).toHaveLength(2);
  });
});

describe('a remote that returns no users while local ones are active', () => {
  it('when executed without the location code, then nothing changes and the admin is told to type it; with it, the sync runs', async () => {
    await remoteWith([], []);
    const runId = await previewSync(agent, devId);
    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({ status: 'previewed', guard_required: true, remote_count: 0, deactivate_count: 3 });
    const preview = await agent.get(`/admin/users/sync/${runId}`);
    expect(preview.text).toContain('The remote returned no usable users, while DEV has 3 active users.');

    const before = await snapshotTables(database.db, ['users']);
    for (const fields of [{}, { confirm_code: '' }, { confirm_code: 'TEST' }, { confirm_code: 'dev' }, { confirm_code: "DEV' OR 1=1" }]) {
      const logStart = t.logs.lines.length;
      const response = await executeSync(agent, runId, fields);
      expect(response.status).toBe(303);
      const page = await agent.get(`/admin/users/sync/${runId}`);
      expect(page.text).toMatch(
        /(No location code was typed|The code you typed does not match): type DEV to confirm this sync, which deactivates 3 of 3 active users\. Nothing was changed\./,
      );
      expect(
        t.logs
          .entries()
          .slice(logStart)
          .find((e) => e.msg === 'sync execute refused'),
      ).toMatchObject({
        runId,
        outcome: 'confirmation-required',
      });
      expect((await runRow(database.db, runId)).status).toBe('previewed');
      expect(await snapshotTables(database.db, ['users'])).toEqual(before);
    }

    const confirmed = await executeSync(agent, runId, { confirm_code: 'DEV' });
    expect(confirmed.status).toBe(303);
    expect((await runRow(database.db, runId)).status).toBe('completed');
    const active = await database.db('users').where({ location_id: devId, is_active: true }).count({ n: '*' }).first();
    expect(active).toEqual({ n: 0 });
  });
});
