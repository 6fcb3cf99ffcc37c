import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp, type TestApp } from '../support/app';
import { signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';
import { snapshotTables } from '../support/db-snapshot';
import { DEFAULT_REMOTE_CREDENTIALS } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, confirmLocation, previewSync, runRow } from '../support/sync-fixtures';

/**
 * A remote that does not play by the contract's sizes (security review, finding 3): pages far larger than
 * the per_page asked for, lists larger than any location, answers larger than a page can be. The hub must
 * refuse them with a message that names the location and the page, hold a bounded amount of memory while
 * it reads, and keep answering its other pages meanwhile.
 */

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let devId: number;

const PER_PAGE = 10;

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({ ...REMOTE_ENV, REMOTE_PER_PAGE: String(PER_PAGE), REMOTE_RETRIES: '0', REMOTE_MAX_ROWS: '1000' }),
);

beforeAll(async () => {
  agent = await signedInAgent(t.app);
  devId = await addLocation(database.db, 'DEV', 'http://127.0.0.1:9');
});

const userRow = (i: number) => ({ id: i, name: `User ${i}`, email: `user${i}@dev.test`, role: 'vendor', is_active: true });

interface HostileServer {
  url: string;
  /** The page numbers of the users requests received, in order. */
  pagesAsked: number[];
  /** Per users answer: the bytes written before the client went away or the answer ended, and whether it ended. */
  answers: Array<{ page: number; bytesWritten: number; finished: boolean }>;
  close(): Promise<void>;
}

/** A loopback server with a real login whose users pages are whatever `pageBody` returns. */
async function hostileServer(pageBody: (page: number) => string | { chunks: number; chunk: string }): Promise<HostileServer> {
  const pagesAsked: number[] = [];
  const answers: HostileServer['answers'] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && url.pathname === '/api/auth/login') {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const { email, password } = JSON.parse(text) as { email: string; password: string };
        const ok = email === DEFAULT_REMOTE_CREDENTIALS.email && password === DEFAULT_REMOTE_CREDENTIALS.password;
        res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(ok ? { access_token: 'hostile-token', token_type: 'bearer', expires_in: 3600 } : { message: 'Unauthenticated.' }));
      });
      return;
    }
    const page = Number(url.searchParams.get('page') ?? '1');
    pagesAsked.push(page);
    const body = pageBody(page);
    const answer = { page, bytesWritten: 0, finished: false };
    answers.push(answer);
    res.on('finish', () => (answer.finished = true));
    if (typeof body === 'string') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      answer.bytesWritten = Buffer.byteLength(body);
      res.end(body);
      return;
    }
    // A body too large to build at once: written chunk by chunk while the client keeps reading.
    res.writeHead(200, { 'Content-Type': 'application/json' });
    let sent = 0;
    const writeMore = () => {
      while (sent < body.chunks && !res.destroyed) {
        sent += 1;
        answer.bytesWritten += body.chunk.length;
        if (sent === body.chunks) return res.end();
        if (!res.write(body.chunk)) return res.once('drain', writeMore);
      }
    };
    writeMore();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pagesAsked,
    answers,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let remote: HostileServer | undefined;
afterEach(async () => {
  await remote?.close();
  remote = undefined;
});

async function pointDevAt(server: HostileServer) {
  remote = server;
  await database.db('locations').where({ id: devId }).update({ online_url: server.url });
  await confirmLocation(database.db, devId);
}

/** A Laravel resource page: `rows` users from `from`, claiming `lastPage` pages and `total` users. */
const resourcePage = (page: number, rows: number, lastPage: number, total: number | null = null) =>
  JSON.stringify({
    data: Array.from({ length: rows }, (_, i) => userRow((page - 1) * PER_PAGE + i + 1)),
    links: { next: page < lastPage ? `/api/users?page=${page + 1}` : null },
    meta: { current_page: page, last_page: lastPage, per_page: PER_PAGE, total },
  });

/** Previews DEV and expects a failed run with that message, no item stored and no user changed. */
async function expectRefused(message: string) {
  const before = await snapshotTables(database.db, ['users', 'locations']);
  const runId = await previewSync(agent, devId);
  const run = await runRow(database.db, runId);
  expect(run.status).toBe('failed');
  expect(run.error).toBe(message);
  expect(await database.db('sync_run_items').where({ sync_run_id: runId }).count({ n: '*' }).first()).toEqual({ n: 0 });
  expect(await snapshotTables(database.db, ['users', 'locations'])).toEqual(before);
  const page = await agent.get(`/admin/users/sync/${runId}`);
  expect(page.text).toContain(message.replaceAll("'", '&#39;'));
  return run;
}

describe('a remote that sends more than the contract allows', () => {
  it('when a page holds more rows than the per_page asked for, then the list is refused naming the location and page, and the 200 pages it claims are not fetched', async () => {
    await pointDevAt(await hostileServer((page) => resourcePage(page, page === 1 ? 5000 : PER_PAGE, 200)));
    await expectRefused('DEV sent 5,000 users on page 1, more than the 10 asked for (per_page), so the list was not used');
    expect(remote!.pagesAsked).toEqual([1]);
  });

  it('when a later page is oversized, then the fetch stops there, and no more pages are asked for than the read-ahead holds', async () => {
    await pointDevAt(await hostileServer((page) => resourcePage(page, page === 3 ? 2000 : PER_PAGE, 50)));
    await expectRefused('DEV sent 2,000 users on page 3, more than the 10 asked for (per_page), so the list was not used');
    expect(remote!.pagesAsked).toContain(3);
    expect(Math.max(...remote!.pagesAsked)).toBeLessThan(50);
  });

  it('when the first page says the list has more users than REMOTE_MAX_ROWS, then it is refused before any other page is fetched', async () => {
    await pointDevAt(await hostileServer((page) => resourcePage(page, PER_PAGE, 200, 2000)));
    await expectRefused('DEV has more than 1,000 users (REMOTE_MAX_ROWS), so the list was not used');
    expect(remote!.pagesAsked).toEqual([1]);
  });

  it('when a list gives no total and runs past REMOTE_MAX_ROWS, then it is refused at the page that crosses it', async () => {
    // simplePaginate's shape: a next link on every page, no total and no last page.
    const simplePage = (page: number) =>
      JSON.stringify({
        data: Array.from({ length: PER_PAGE }, (_, i) => userRow((page - 1) * PER_PAGE + i + 1)),
        current_page: page,
        next_page_url: `/api/users?page=${page + 1}`,
      });
    await pointDevAt(await hostileServer(simplePage));
    await expectRefused('DEV has more than 1,000 users (REMOTE_MAX_ROWS), so the list was not used');
    // Page 101 crosses 1,000 users; at most the one fetched ahead of it follows.
    expect(Math.max(...remote!.pagesAsked)).toBeGreaterThanOrEqual(101);
    expect(Math.max(...remote!.pagesAsked)).toBeLessThanOrEqual(102);
  });

  it('when a bare list (the whole list in one answer) has more users than REMOTE_MAX_ROWS, then it is refused', async () => {
    await pointDevAt(await hostileServer(() => JSON.stringify(Array.from({ length: 1001 }, (_, i) => userRow(i + 1)))));
    await expectRefused('DEV has more than 1,000 users (REMOTE_MAX_ROWS), so the list was not used');
  });
});

describe('the default size limit', () => {
  it('when an answer is larger than 4 MB (the default REMOTE_MAX_BYTES), then reading stops at the limit and the rest is never taken', async () => {
    // 40 MB of rows: each chunk one row of the data array, the JSON never closed.
    const chunk = `${JSON.stringify(userRow(1))},`.padEnd(4096, ' ');
    await pointDevAt(await hostileServer(() => ({ chunks: 10_000, chunk })));
    await expectRefused('DEV sent more than 4 MB on page 1 (REMOTE_MAX_BYTES)');
    const [answer] = remote!.answers;
    expect(answer!.finished).toBe(false);
    // The socket buffers let the server write somewhat past the limit before it notices the client left.
    expect(answer!.bytesWritten).toBeLessThan(20 * 1024 * 1024);
  });
});

describe('the rest of the hub while a hostile remote is read', () => {
  it('when a preview reads oversized pages, then /healthz and the pages keep answering', async () => {
    const body = resourcePage(1, 20_000, 200);
    await pointDevAt(await hostileServer(() => body));
    const answers: number[] = [];
    let previewDone = false;
    const poll = (async () => {
      while (!previewDone) {
        answers.push((await agent.get('/healthz')).status);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      await expectRefused('DEV sent 20,000 users on page 1, more than the 10 asked for (per_page), so the list was not used');
    } finally {
      previewDone = true;
      await poll;
    }
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((status) => status === 200)).toBe(true);
  });
});
