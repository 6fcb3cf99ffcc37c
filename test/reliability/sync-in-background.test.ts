import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, itemsOf, runRow, snapshot, waitForRun, type RunProgress } from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
const servers: LaravelServer[] = [];

const PER_PAGE = 5;
const PAGES = 8;

beforeAll(async () => {
  database = await createTestDatabase();
  // One page at a time: the fetch of a slow remote takes a while, page after page.
  t = await buildTestApp(database, { ...REMOTE_ENV, REMOTE_PER_PAGE: String(PER_PAGE), REMOTE_CONCURRENCY: '1' });
  agent = await signedInAgent(t.app);
});
afterAll(async () => {
  await t.close();
  await Promise.all(servers.map((s) => s.close()));
  await database.drop();
});

/** A remote that answers each users page 300 ms after it was asked for. */
async function slowLocation(code: string) {
  const users = Array.from({ length: PER_PAGE * PAGES }, (_, i) => ({
    id: i + 1,
    name: `User ${i + 1}`,
    email: `user${i + 1}@${code.toLowerCase()}.test`,
    role: 'vendor',
    is_active: true,
  }));
  const remote = await startLaravelServer({ users, shape: 'paginate', pageDelayMs: 300 });
  servers.push(remote);
  return { remote, locationId: await addLocation(database.db, code, remote.url) };
}

const runIdOf = (location: string | undefined) => Number(/^\/admin\/users\/sync\/(\d+)$/.exec(location ?? '')![1]);

describe('a preview of a slow remote runs in the background', () => {
  it('when the remote answers each page after 300 ms, then the form is answered with a 303 before the pages are served, and the progress moves to the preview', async () => {
    const { remote, locationId } = await slowLocation('SLOW');

    const response = await postForm(agent, '/admin/users/sync/preview', { location_id: String(locationId) });
    expect(response.status).toBe(303);
    const runId = runIdOf(response.headers.location);
    // The answer came while the remote still had pages to serve: the request did not wait for the fetch.
    expect(remote.answeredPages.length).toBeLessThan(PAGES);
    expect(['queued', 'previewing']).toContain((await runRow(database.db, runId)).status);

    const page = await agent.get(`/admin/users/sync/${runId}`);
    expect(page.text).toContain('<noscript><meta http-equiv="refresh" content="2"></noscript>');
    expect(page.text).toContain('<script src="/assets/js/sync-progress.js" defer></script>');
    expect(page.text).toContain('data-progress-url="/admin/users/sync/' + runId + '/progress"');
    expect(page.text).not.toMatch(/<script>(?!<\/script>)/);

    const seen: RunProgress[] = [];
    const done = await waitForRun(agent, runId, (progress) => seen.push(progress));
    expect(done).toMatchObject({ status: 'previewed', running: false, phase: 'ready' });
    const fetching = seen.filter((p) => p.phase === 'fetching');
    const figures = [...new Set(fetching.map((p) => p.pagesFetched))];
    // The figures moved while it ran: several page counts, rising, with the total known from page 1.
    expect(figures.length).toBeGreaterThan(1);
    expect(figures).toEqual([...figures].sort((x, y) => x - y));
    expect(fetching.every((p) => p.pagesTotal === PAGES && p.usersTotal === PER_PAGE * PAGES)).toBe(true);
    expect(fetching.at(-1)!.usersFetched).toBeGreaterThan(fetching[0]!.usersFetched);

    const ready = await agent.get(`/admin/users/sync/${runId}`);
    expect(ready.text).toContain('Confirm &amp; Execute');
    expect(ready.text).not.toContain('http-equiv="refresh"');
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', new_count: PER_PAGE * PAGES });
  });

  it('when an admin cancels a running preview, then the fetch stops, the run is cancelled and nothing of it was saved', async () => {
    const { remote, locationId } = await slowLocation('STOPPED');
    const before = await snapshot(database.db);
    const response = await postForm(agent, '/admin/users/sync/preview', { location_id: String(locationId) });
    const runId = runIdOf(response.headers.location);
    // Cancel once the fetch is under way (a page has arrived).
    await waitForPhase(runId, (p) => p.phase === 'fetching' && p.pagesFetched >= 1);

    const cancel = await postForm(agent, `/admin/users/sync/${runId}/cancel`, {}, `/admin/users/sync/${runId}`);
    expect(cancel.status).toBe(303);
    expect(cancel.headers.location).toBe(`/admin/users/sync/${runId}`);
    expect(await waitForRun(agent, runId)).toMatchObject({ status: 'cancelled', running: false });

    const asked = remote.requests.filter((r) => r.path === '/api/users').length;
    expect(asked).toBeLessThan(PAGES);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(remote.requests.filter((r) => r.path === '/api/users')).toHaveLength(asked);

    expect(await runRow(database.db, runId)).toMatchObject({ status: 'cancelled', new_count: 0 });
    expect(await itemsOf(database.db, runId)).toEqual([]);
    expect(await snapshot(database.db)).toEqual(before);
    const page = await agent.get(`/admin/users/sync/${runId}`);
    expect(page.text).toContain('This preview was cancelled; nothing was saved.');
    expect(page.text).not.toContain('/execute"');
    expect(t.logs.entries().some((e) => e.msg === 'sync preview cancelled' && e.runId === runId)).toBe(true);
  });

  it('when a preview of a location is running, then a second one is not started: the admin lands on the running one', async () => {
    const { locationId } = await slowLocation('ONCE');
    const first = runIdOf((await postForm(agent, '/admin/users/sync/preview', { location_id: String(locationId) })).headers.location);
    const second = await postForm(agent, '/admin/users/sync/preview', { location_id: String(locationId) });
    expect(runIdOf(second.headers.location)).toBe(first);
    expect((await agent.get(`/admin/users/sync/${first}`)).text).toContain('A sync of this location is already running');
    await waitForRun(agent, first);
    expect(await database.db('sync_runs').where({ location_id: locationId }).count({ n: '*' }).first()).toEqual({ n: 1 });
  });
});

async function waitForPhase(runId: number, reached: (p: RunProgress) => boolean): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    const progress = (await agent.get(`/admin/users/sync/${runId}/progress`)).body as RunProgress;
    if (reached(progress)) return;
    if (!progress.running) throw new Error(`run ${runId} ended (${progress.status}) before the awaited phase`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`run ${runId} never reached the awaited phase`);
}
