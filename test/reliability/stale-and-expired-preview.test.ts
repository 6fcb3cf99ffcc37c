import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import { snapshotTables } from '../support/db-snapshot';
import type { TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import {
  REMOTE_ENV,
  addLocation,
  executeSync,
  expectPlanApplied,
  insertUsers,
  previewSync,
  runRow,
  snapshot,
  waitForRun,
} from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
const remotes: LaravelServer[] = [];

const STALE = 'Data changed since the preview; run the preview again.';

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({ ...REMOTE_ENV, SYNC_PREVIEW_TTL_MINUTES: '5' }),
);
beforeAll(async () => {
  agent = await signedInAgent(t.app);
});
afterAll(async () => {
  await Promise.all(remotes.map((r) => r.close()));
});

/** A location whose preview adds one user, renames one, reactivates one and deactivates one. */
async function scenario(code: string) {
  const domain = code.toLowerCase();
  const remote = await startLaravelServer({
    users: [
      { id: 1, name: 'Added', email: `added@${domain}.test`, role: 'vendor', is_active: true },
      { id: 2, name: 'New Name', email: `renamed@${domain}.test`, role: 'vendor', is_active: true },
      { id: 3, name: 'Back Again', email: `back@${domain}.test`, role: 'vendor', is_active: true },
    ],
  });
  remotes.push(remote);
  const locationId = await addLocation(database.db, code, remote.url);
  await insertUsers(database.db, locationId, [
    { email: `renamed@${domain}.test`, name: 'Old Name', role: 'vendor', remote_id: '2' },
    { email: `back@${domain}.test`, name: 'Back Again', role: 'vendor', remote_id: '3', is_active: false },
    { email: `gone@${domain}.test`, name: 'Gone', role: 'vendor', remote_id: '4' },
  ]);
  const runId = await previewSync(agent, locationId);
  expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', new_count: 1, update_count: 2, deactivate_count: 1 });
  return { locationId, runId, domain };
}

/** Executes and checks the refusal: the run's page and the log say why, and no user or plan item changed. */
async function expectRefused(runId: number, expected: { status: string; shown: string; outcome: string }) {
  const before = await snapshotTables(database.db, ['users', 'sync_run_items']);
  const logStart = t.logs.lines.length;
  // The token comes from another page: opening the run's page would already mark an overdue run expired.
  const response = await postForm(agent, `/admin/users/sync/${runId}/execute`, {}, '/admin/users');
  expect(response.status).toBe(303);
  expect(response.headers.location).toBe(`/admin/users/sync/${runId}`);
  await waitForRun(agent, runId);
  const page = await agent.get(`/admin/users/sync/${runId}`);
  expect(page.text).toContain(expected.shown);
  expect(page.text).not.toContain(`action="/admin/users/sync/${runId}/execute"`);
  expect(await runRow(database.db, runId)).toMatchObject({ status: expected.status, executed_at: null, executed_by: null });
  expect(
    t.logs
      .entries()
      .slice(logStart)
      .find((e) => e.msg === 'sync execute refused'),
  ).toMatchObject({ runId, outcome: expected.outcome });
  expect(
    t.logs
      .entries()
      .slice(logStart)
      .some((e) => e.msg === 'sync executed'),
  ).toBe(false);
  expect(await snapshotTables(database.db, ['users', 'sync_run_items'])).toEqual(before);
  // Pressing Execute again changes nothing either, and the log says why.
  const againStart = t.logs.lines.length;
  await executeSync(agent, runId);
  expect(
    t.logs
      .entries()
      .slice(againStart)
      .find((e) => e.msg === 'sync execute refused'),
  ).toMatchObject({
    runId,
    outcome: 'not-executable',
    status: expected.status,
  });
  expect(await snapshotTables(database.db, ['users', 'sync_run_items'])).toEqual(before);
}

describe('an expired preview', () => {
  it('when executed after SYNC_PREVIEW_TTL_MINUTES, then it is refused, marked expired, and a new preview can be executed', async () => {
    const { locationId, runId } = await scenario('LATE');
    const run = await runRow(database.db, runId);
    const ttlMinutes = ((run.expires_at as Date).getTime() - (run.created_at as Date).getTime()) / 60_000;
    expect(Math.round(ttlMinutes)).toBe(5);
    await database
      .db('sync_runs')
      .where({ id: runId })
      .update({ expires_at: database.db.raw("now() - interval '1 second'") });

    await expectRefused(runId, { status: 'expired', shown: 'This preview expired; run it again.', outcome: 'expired' });

    const fresh = await previewSync(agent, locationId);
    const before = await snapshot(database.db);
    await executeSync(agent, fresh);
    expect(await runRow(database.db, fresh)).toMatchObject({ status: 'completed' });
    await expectPlanApplied(database.db, fresh, before);
  });
});

describe('a stale preview', () => {
  const edits: Array<[string, (locationId: number, domain: string) => Promise<unknown>]> = [
    [
      'a renamed user was edited',
      (l, d) =>
        database
          .db('users')
          .where({ location_id: l, email: `renamed@${d}.test` })
          .update({ role: 'manager' }),
    ],
    [
      'a user to reactivate was reactivated by hand',
      (l, d) =>
        database
          .db('users')
          .where({ location_id: l, email: `back@${d}.test` })
          .update({ is_active: true, deactivated_at: null }),
    ],
    [
      'a user to deactivate was deleted',
      (l, d) =>
        database
          .db('users')
          .where({ location_id: l, email: `gone@${d}.test` })
          .delete(),
    ],
    ['a user appeared for an added email', (l, d) => insertUsers(database.db, l, [{ email: `ADDED@${d}.test`, name: 'Typed in' }])],
  ];

  for (const [index, [label, edit]] of edits.entries()) {
    it(`when ${label} after the preview, then nothing is applied and the admin is told to preview again`, async () => {
      const { locationId, runId, domain } = await scenario(`STALE${index}`);
      await edit(locationId, domain);
      await expectRefused(runId, { status: 'failed', shown: STALE, outcome: 'stale' });
      expect((await runRow(database.db, runId)).error).toBe(STALE);
    });
  }
});
