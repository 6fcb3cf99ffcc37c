import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN, useTestApp, type TestApp } from '../support/app';
import { csrfFrom, postForm, signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import {
  REMOTE_ENV,
  addLocation,
  executeSync,
  insertUsers,
  itemsOf,
  previewSync,
  runRow,
  snapshot,
  type Row,
  reasonText,
  sightingOf,
} from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
const remotes: LaravelServer[] = [];

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => REMOTE_ENV,
);
beforeAll(async () => {
  agent = await signedInAgent(t.app);
});
afterAll(async () => {
  await Promise.all(remotes.map((remote) => remote.close()));
});

/** A location whose remote lists `remoteRows`, with `local` users of its own. */
async function location(code: string, remoteRows: Array<Record<string, unknown>>, local: Parameters<typeof insertUsers>[2]) {
  const remote = await startLaravelServer({ users: remoteRows });
  remotes.push(remote);
  const id = await addLocation(database.db, code, remote.url);
  await insertUsers(database.db, id, local);
  return id;
}

async function syncAndExecute(locationId: number): Promise<number> {
  const runId = await previewSync(agent, locationId);
  expect((await executeSync(agent, runId)).status).toBe(303);
  expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed' });
  return runId;
}

/** Presses "Revert this sync…" on the run's page; returns the response (a redirect). */
async function pressRevert(runId: number) {
  const page = await agent.get(`/admin/users/sync/${runId}`);
  return agent
    .post(`/admin/users/sync/${runId}/revert`)
    .type('form')
    .send({ _csrf: csrfFrom(page.text) });
}

async function revertPreview(runId: number): Promise<number> {
  const response = await pressRevert(runId);
  expect(response.status, response.text).toBe(303);
  const match = /^\/admin\/users\/sync\/(\d+)$/.exec(response.headers.location ?? '');
  expect(Number(match?.[1])).not.toBe(runId);
  return Number(match![1]);
}

/** The location's users, by id. */
const usersOf = async (locationId: number) => (await snapshot(database.db)).filter((row) => row.location_id === locationId);

/** What a revert restores: everything but the timestamps that record the revert itself. */
const BOOKKEEPING = ['updated_at', 'last_synced_at', 'deactivated_at'];
const restorable = (row: Row) => Object.fromEntries(Object.entries(row).filter(([key]) => !BOOKKEEPING.includes(key)));

const userOf = async (locationId: number, email: string) => database.db('users').where({ location_id: locationId, email }).first();

describe('Revert a sync: the users as before, a user changed in between left alone', () => {
  let devId: number;
  let beforeSync: Row[];
  let syncId: number;
  let revertId: number;

  it('syncs: adds, updates, reactivates, deactivates', async () => {
    devId = await location(
      'DEV',
      [
        { id: 1, name: 'Keep One', email: 'keep@dev.test', role: 'vendor', is_active: true },
        { id: 2, name: 'Renamed Remotely', email: 'rename@dev.test', role: 'vendor', is_active: true },
        { id: 3, name: 'Promoted', email: 'promote@dev.test', role: 'manager', is_active: true },
        { id: 4, name: 'Sleeper', email: 'sleeper@dev.test', role: 'vendor', is_active: true },
        { id: 5, name: 'Quits', email: 'quits@dev.test', role: 'vendor', is_active: false },
        { id: 6, name: 'Newcomer', email: 'new@dev.test', role: 'vendor', is_active: true },
        { id: 7, name: 'Edited Later', email: 'edited@dev.test', role: 'vendor', is_active: true },
      ],
      [
        { email: 'keep@dev.test', name: 'Keep One', role: 'vendor', remote_id: '1' },
        { email: 'rename@dev.test', name: 'Old Name', role: 'vendor', remote_id: '2' },
        { email: 'promote@dev.test', name: 'Promoted', role: 'vendor', remote_id: '3' },
        { email: 'sleeper@dev.test', name: 'Sleeper', role: 'vendor', remote_id: '4', is_active: false },
        { email: 'quits@dev.test', name: 'Quits', role: 'vendor', remote_id: '5' },
        { email: 'gone@dev.test', name: 'Gone Away', role: 'vendor', remote_id: '99' },
        { email: 'edited@dev.test', name: 'Before Sync', role: 'vendor', remote_id: '7' },
      ],
    );
    beforeSync = await usersOf(devId);
    syncId = await syncAndExecute(devId);
    expect(await runRow(database.db, syncId)).toMatchObject({ new_count: 1, update_count: 4, deactivate_count: 2, run_type: 'sync' });
    expect(await userOf(devId, 'new@dev.test')).toMatchObject({ is_active: true });
  });

  it('shows "Revert this sync…" on the completed run', async () => {
    const page = await agent.get(`/admin/users/sync/${syncId}`);
    expect(page.text).toContain(`action="/admin/users/sync/${syncId}/revert"`);
    expect(page.text).toContain('Revert this sync…');
  });

  it('previews the revert as a run of its own, linked both ways; the user edited since is a conflict', async () => {
    // An admin edits a user the sync updated: the revert must not overwrite that silently.
    await database.db('users').where({ location_id: devId, email: 'edited@dev.test' }).update({ name: 'Edited By Hand' });
    const before = await snapshot(database.db);

    revertId = await revertPreview(syncId);
    expect(await snapshot(database.db)).toEqual(before);
    const run = await runRow(database.db, revertId);
    expect(run).toMatchObject({
      status: 'previewed',
      run_type: 'revert',
      reverts_run_id: syncId,
      location_id: devId,
      new_count: 0,
      update_count: 4,
      deactivate_count: 2,
      conflict_count: 1,
      guard_required: false,
    });
    const items = await itemsOf(database.db, revertId);
    const byEmail = (kind: string) =>
      items
        .filter((i) => i.kind === kind)
        .map((i) => i.email)
        .sort();
    // Added and reactivated by the sync: deactivated now. Updated or deactivated: written back.
    expect(byEmail('deactivate')).toEqual(['new@dev.test', 'sleeper@dev.test']);
    expect(byEmail('update')).toEqual(['gone@dev.test', 'promote@dev.test', 'quits@dev.test', 'rename@dev.test']);
    const rename = items.find((i) => i.email === 'rename@dev.test')!;
    expect([rename.before, rename.after]).toEqual([
      { email: 'rename@dev.test', name: 'Renamed Remotely' },
      { email: 'rename@dev.test', name: 'Old Name' },
    ]);
    const conflict = items.find((i) => i.kind === 'conflict')!;
    expect(conflict).toMatchObject({
      email: 'edited@dev.test',
      after: { email: 'edited@dev.test', name: 'Before Sync' },
    });
    expect(reasonText(conflict)).toMatch(
      new RegExp(`^changed after #${syncId} was executed \\(last change \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\)$`),
    );
    expect((conflict.before as Row).name).toBe('Edited By Hand');
    expect(JSON.parse(conflict.excerpt as string)).toEqual({ name: 'Edited Later' });

    const page = await agent.get(`/admin/users/sync/${revertId}`);
    expect(page.text).toContain(`Revert of <a href="/admin/users/sync/${syncId}"`);
    expect(page.text).toContain('data-count="conflict">1<');
    expect(page.text).toMatch(/<tr data-email="edited@dev.test"[^>]*>[\s\S]*?Edited Later[\s\S]*?Edited By Hand[\s\S]*?Before Sync/);
    expect(page.text).toContain(`name="accept_conflict" value="${String(conflict.id)}" form="sync-actions"`);
    expect(page.text).toContain(`action="/admin/users/sync/${revertId}/execute"`);
    // The export lists the revert's plan, the conflict as the user is now with what ticking it would write.
    const csv = (await agent.get(`/admin/users/sync/${revertId}/export.csv`)).text;
    expect(csv).toMatch(
      /\nconflict,changed after #\d+ was executed \(last change [^)]+\),edited@dev\.test,Edited By Hand,vendor,active,name: Edited By Hand → Before Sync/,
    );
    expect(csv).toContain(`deactivate,added by #${syncId},new@dev.test,Newcomer,vendor,inactive,is_active: true → false`);
    expect(csv).toContain(`deactivate,reactivated by #${syncId},sleeper@dev.test,`);
    // The reverted run links to its revert preview.
    const original = await agent.get(`/admin/users/sync/${syncId}`);
    expect(original.text).toContain(`A revert preview of this sync is waiting: <a href="/admin/users/sync/${revertId}">`);
    expect(t.logs.entries().find((e) => e.msg === 'sync revert previewed')).toMatchObject({
      runId: revertId,
      revertsRunId: syncId,
      counts: { update: 4, deactivate: 2, conflict: 1 },
    });
  });

  it('executes once: every user as before the sync, row by row, but the conflict left alone and the added user deactivated', async () => {
    const response = await executeSync(agent, revertId);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/users/sync/${revertId}`);
    const admin = await database.db('users').where({ email: TEST_ADMIN.email }).first();
    expect(await runRow(database.db, revertId)).toMatchObject({ status: 'completed', executed_by: admin.id });

    const after = await usersOf(devId);
    const beforeById = new Map(beforeSync.map((row) => [row.id as number, row]));
    for (const row of after) {
      const old = beforeById.get(row.id as number);
      if (row.email === 'new@dev.test') {
        // Added by the sync: kept, deactivated, never deleted.
        expect(old).toBeUndefined();
        expect(row).toMatchObject({ is_active: false, name: 'Newcomer' });
        expect(row.deactivated_at).not.toBeNull();
      } else if (row.email === 'edited@dev.test') {
        expect(row).toMatchObject({ name: 'Edited By Hand' });
      } else {
        expect(restorable(row), String(row.email)).toEqual(restorable(old!));
        expect(row.deactivated_at === null, String(row.email)).toBe(old!.deactivated_at === null);
      }
    }
    expect(after).toHaveLength(beforeSync.length + 1);

    const page = await agent.get(`/admin/users/sync/${revertId}`);
    expect(page.text).toContain(`Revert of #${syncId} completed by ${TEST_ADMIN.email} at`);
    expect(page.text).toContain('4 updated, 2 deactivated, 1 conflicts left alone.');
    expect(t.logs.entries().find((e) => e.msg === 'sync executed' && e.runId === revertId)).toMatchObject({ revertsRunId: syncId });
  });

  it('executes once: a second press lands on the result and changes nothing', async () => {
    const before = await snapshot(database.db);
    const again = await executeSync(agent, revertId);
    expect(again.status).toBe(303);
    expect(await snapshot(database.db)).toEqual(before);
  });

  it('links the reverted run to its revert, offers no second revert, and lists both in the history', async () => {
    const original = await agent.get(`/admin/users/sync/${syncId}`);
    expect(original.text).toContain(`Reverted by <a href="/admin/users/sync/${revertId}">#${revertId}</a>`);
    expect(original.text).not.toContain(`action="/admin/users/sync/${syncId}/revert"`);
    const refused = await pressRevert(syncId);
    expect(refused.headers.location).toBe(`/admin/users/sync/${syncId}`);
    expect((await agent.get(`/admin/users/sync/${syncId}`)).text).toContain(`reverted by #${revertId}`);
    const history = await agent.get('/admin/sync-runs');
    expect(history.text).toContain(`revert of <a href="/admin/users/sync/${syncId}">#${syncId}</a>`);
  });

  it('reverts the revert: the users as the sync left them (the conflict still untouched)', async () => {
    const beforeRevert = await usersOf(devId);
    const again = await revertPreview(revertId);
    // What the revert reactivated is deactivated again (quits, gone); what it deactivated or wrote back is reapplied.
    expect(await runRow(database.db, again)).toMatchObject({
      run_type: 'revert',
      reverts_run_id: revertId,
      update_count: 4,
      deactivate_count: 2,
      conflict_count: 0,
    });
    expect((await executeSync(agent, again)).status).toBe(303);
    expect(await runRow(database.db, again)).toMatchObject({ status: 'completed' });
    const byEmail = Object.fromEntries((await usersOf(devId)).map((row) => [row.email, row]));
    expect(byEmail['new@dev.test']).toMatchObject({ is_active: true, deactivated_at: null });
    expect(byEmail['sleeper@dev.test']).toMatchObject({ is_active: true, deactivated_at: null });
    expect(byEmail['rename@dev.test']).toMatchObject({ name: 'Renamed Remotely' });
    expect(byEmail['promote@dev.test']).toMatchObject({ role: 'manager' });
    expect(byEmail['quits@dev.test']).toMatchObject({ is_active: false });
    expect(byEmail['gone@dev.test']).toMatchObject({ is_active: false });
    expect(byEmail['edited@dev.test']).toMatchObject({ name: 'Edited By Hand' });
    expect(beforeRevert.find((row) => row.email === 'edited@dev.test')).toEqual(byEmail['edited@dev.test']);
    // And a second preview of the location finds what the sync had found done: only the hand edit differs.
    const check = await previewSync(agent, devId);
    expect(await runRow(database.db, check)).toMatchObject({ new_count: 0, update_count: 1, deactivate_count: 0 });
  });
});

/**
 * A location of two users that a sync renamed (Local A/B -> Remote A/B), with a@ edited by hand since:
 * its revert preview has b@ to write back and a@ as its one conflict.
 */
async function revertWithOneConflict(code: string, domain: string) {
  const id = await location(
    code,
    [
      { id: 1, name: 'Remote A', email: `a@${domain}` },
      { id: 2, name: 'Remote B', email: `b@${domain}` },
    ],
    [
      { email: `a@${domain}`, name: 'Local A', remote_id: '1' },
      { email: `b@${domain}`, name: 'Local B', remote_id: '2' },
    ],
  );
  const syncId = await syncAndExecute(id);
  await database
    .db('users')
    .where({ location_id: id, email: `a@${domain}` })
    .update({ name: 'Hand A' });
  const revertId = await revertPreview(syncId);
  const conflicts = await itemsOf(database.db, revertId, 'conflict');
  expect(conflicts.map((c) => c.email)).toEqual([`a@${domain}`]);
  return { id, syncId, revertId, conflict: conflicts[0]! };
}

describe('Revert with a conflict ticked', () => {
  it('reverts the ticked conflict too, in the same transaction', async () => {
    const { id, syncId, revertId, conflict } = await revertWithOneConflict('TICK', 'tick.test');

    const response = await executeSync(agent, revertId, { accept_conflict: String(conflict.id) });
    expect(response.status).toBe(303);
    expect(await runRow(database.db, revertId)).toMatchObject({ status: 'completed', update_count: 2, conflict_count: 0 });
    expect(await userOf(id, 'a@tick.test')).toMatchObject({ name: 'Local A' });
    expect(await userOf(id, 'b@tick.test')).toMatchObject({ name: 'Local B' });
    expect(reasonText((await itemsOf(database.db, revertId, 'update')).find((i) => i.email === 'a@tick.test')!)).toMatch(
      new RegExp(`^changed after #${syncId} was executed \\(.*\\); reverted anyway$`),
    );
  });

  it('keeps a ticked conflict a conflict when another sync of the location runs at that moment (nothing is handed over)', async () => {
    const { id, revertId, conflict } = await revertWithOneConflict('BUSY', 'busy.test');
    // Another instance's preview of the location, running (its heartbeat fresh, so no sweep takes it over).
    const [busy] = await database.db('sync_runs').insert({ location_id: id, status: 'previewing' }).returning('id');
    await database.db('sync_run_progress').insert({ sync_run_id: busy.id, phase: 'fetching' });
    const before = await snapshot(database.db);

    expect((await executeSync(agent, revertId, { accept_conflict: String(conflict.id) })).status).toBe(303);
    expect((await agent.get(`/admin/users/sync/${revertId}`)).text).toContain('Another sync of this location is running');
    expect(await runRow(database.db, revertId)).toMatchObject({ status: 'previewed', update_count: 1, conflict_count: 1 });
    expect((await itemsOf(database.db, revertId, 'conflict')).map((c) => c.id)).toEqual([conflict.id]);
    expect(await snapshot(database.db)).toEqual(before);

    // Once the other run is over, the tick is the admin's to give again: executed without it, the hand edit stays.
    await database.db('sync_runs').where({ id: busy.id }).update({ status: 'failed', error: 'ended by the test' });
    await executeSync(agent, revertId);
    expect(await runRow(database.db, revertId)).toMatchObject({ status: 'completed', update_count: 1, conflict_count: 1 });
    expect(await userOf(id, 'a@busy.test')).toMatchObject({ name: 'Hand A' });
    expect(await userOf(id, 'b@busy.test')).toMatchObject({ name: 'Local B' });
  });

  it('reverts every conflict with "all" ticked, except a user gone since (nothing to write back to)', async () => {
    const id = await location(
      'ALL',
      [
        { id: 1, name: 'Remote A', email: 'a@all.test' },
        { id: 2, name: 'Remote B', email: 'b@all.test' },
        { id: 3, name: 'Remote C', email: 'c@all.test' },
      ],
      [
        { email: 'a@all.test', name: 'Local A', remote_id: '1' },
        { email: 'b@all.test', name: 'Local B', remote_id: '2' },
        { email: 'c@all.test', name: 'Local C', remote_id: '3' },
      ],
    );
    const syncId = await syncAndExecute(id);
    await database.db('users').where({ location_id: id, email: 'a@all.test' }).update({ role: 'hand-made' });
    await database.db('users').where({ location_id: id, email: 'b@all.test' }).delete();
    const revertId = await revertPreview(syncId);
    const conflicts = await itemsOf(database.db, revertId, 'conflict');
    expect(conflicts.map((c) => [c.email, c.user_id === null, reasonText(c)])).toEqual([
      ['a@all.test', false, expect.stringMatching(/^changed after/)],
      ['b@all.test', true, 'no longer exists'],
    ]);
    const page = await agent.get(`/admin/users/sync/${revertId}`);
    expect(page.text).toContain('What #' + syncId + ' wrote still holds; the user was edited in another field since.');
    expect(page.text).toContain(`value="${String(conflicts[0]!.id)}" form="sync-actions"`);
    expect(page.text).not.toContain(`value="${String(conflicts[1]!.id)}" form="sync-actions"`);

    await executeSync(agent, revertId, { accept_all_conflicts: '1' });
    expect(await runRow(database.db, revertId)).toMatchObject({ status: 'completed', update_count: 2, conflict_count: 1 });
    expect(await userOf(id, 'a@all.test')).toMatchObject({ name: 'Local A', role: 'hand-made' });
    expect(await userOf(id, 'c@all.test')).toMatchObject({ name: 'Local C' });
  });

  it('applies nothing when a user changed after the revert preview (the stale check)', async () => {
    const id = await location(
      'STALE',
      [{ id: 1, name: 'Remote S', email: 's@stale.test' }],
      [{ email: 's@stale.test', name: 'Local S', remote_id: '1' }],
    );
    const syncId = await syncAndExecute(id);
    const revertId = await revertPreview(syncId);
    await database.db('users').where({ location_id: id, email: 's@stale.test' }).update({ role: 'changed meanwhile' });
    const before = await snapshot(database.db);
    await executeSync(agent, revertId);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await runRow(database.db, revertId)).toMatchObject({ status: 'failed', error: 'Data changed since the preview; run the preview again.' });
  });
});

describe('The guard on a large revert', () => {
  it('asks for the location code before deactivating many users, and changes nothing without it', async () => {
    const remoteRows = Array.from({ length: 15 }, (_, i) => ({ id: i + 1, name: `Big ${i + 1}`, email: `big${i + 1}@big.test` }));
    const id = await location('BIGR', remoteRows, [{ email: 'stays@big.test', name: 'Stays' }]);
    const syncId = await previewSync(agent, id);
    // The sync also deactivates the one local user; reverting it reactivates that one and deactivates the 15.
    await executeSync(agent, syncId, { confirm_code: 'BIGR' });
    expect(await runRow(database.db, syncId)).toMatchObject({ status: 'completed', new_count: 15 });

    const revertId = await revertPreview(syncId);
    expect(await runRow(database.db, revertId)).toMatchObject({ guard_required: true, deactivate_count: 15, update_count: 1 });
    const page = await agent.get(`/admin/users/sync/${revertId}`);
    expect(page.text).toContain('This revert deactivates 15 of the 15 active users of BIGR');
    expect(page.text).toContain('name="confirm_code"');

    const before = await snapshot(database.db);
    await executeSync(agent, revertId);
    await executeSync(agent, revertId, { confirm_code: 'WRONG' });
    expect(await snapshot(database.db)).toEqual(before);
    expect(await runRow(database.db, revertId)).toMatchObject({ status: 'previewed' });

    await executeSync(agent, revertId, { confirm_code: 'bigr' });
    expect(await snapshot(database.db)).toEqual(before);
    expect(await runRow(database.db, revertId)).toMatchObject({ status: 'previewed' });
    await executeSync(agent, revertId, { confirm_code: 'BIGR' });
    expect(await runRow(database.db, revertId)).toMatchObject({ status: 'completed' });
    expect(await database.db('users').where({ location_id: id, is_active: true }).pluck('email')).toEqual(['stays@big.test']);
  });
});

describe('Runs that cannot be reverted', () => {
  it('says so when the run’s items are no longer kept, and creates no run', async () => {
    const id = await location('OLD', [{ id: 1, name: 'Remote O', email: 'o@old.test' }], []);
    const syncId = await syncAndExecute(id);
    // A purge of old runs' plans: the run's counts stay, its items are gone.
    await database.db('sync_run_items').where({ sync_run_id: syncId }).delete();
    const page = await agent.get(`/admin/users/sync/${syncId}`);
    expect(page.text).toContain('its plan is no longer kept (0 of 1 changes stored)');
    expect(page.text).not.toContain(`action="/admin/users/sync/${syncId}/revert"`);

    const runsBefore = await database.db('sync_runs').count({ n: '*' }).first();
    const refused = await postForm(agent, `/admin/users/sync/${syncId}/revert`, {}, `/admin/users/sync/${syncId}`);
    expect(refused.status).toBe(303);
    expect(refused.headers.location).toBe(`/admin/users/sync/${syncId}`);
    expect(await database.db('sync_runs').count({ n: '*' }).first()).toEqual(runsBefore);
    expect((await agent.get(`/admin/users/sync/${syncId}`)).text).toContain('no longer kept');
  });

  it('no longer names a revert preview past its time as waiting', async () => {
    const id = await location('LATE', [{ id: 1, name: 'Remote L', email: 'l@late.test' }], []);
    const syncId = await syncAndExecute(id);
    const revertId = await revertPreview(syncId);
    expect((await agent.get(`/admin/users/sync/${syncId}`)).text).toContain(`waiting: <a href="/admin/users/sync/${revertId}">`);
    await database
      .db('sync_runs')
      .where({ id: revertId })
      .update({ expires_at: new Date(Date.now() - 1000) });
    const page = await agent.get(`/admin/users/sync/${syncId}`);
    expect(page.text).not.toContain('waiting');
    expect(page.text).toContain(`action="/admin/users/sync/${syncId}/revert"`);
    expect((await executeSync(agent, revertId)).status).toBe(303);
    expect(await runRow(database.db, revertId)).toMatchObject({ status: 'expired' });
    expect(await userOf(id, 'l@late.test')).toMatchObject({ is_active: true });
  });

  it('offers no revert on a preview, and refuses one by POST', async () => {
    const id = await location('PREV', [{ id: 1, name: 'Remote P', email: 'p@prev.test' }], []);
    const previewId = await previewSync(agent, id);
    const page = await agent.get(`/admin/users/sync/${previewId}`);
    expect(page.text).not.toContain('/revert"');
    const refused = await postForm(agent, `/admin/users/sync/${previewId}/revert`, {}, `/admin/users/sync/${previewId}`);
    expect(refused.headers.location).toBe(`/admin/users/sync/${previewId}`);
    expect(await database.db('sync_runs').where({ reverts_run_id: previewId })).toEqual([]);
  });

  it('needs a CSRF token and answers 404 for an unknown run', async () => {
    const forged = await agent.post('/admin/users/sync/1/revert').type('form').send({});
    expect(forged.status).toBe(403);
    expect((await postForm(agent, '/admin/users/sync/99999999/revert', {})).status).toBe(404);
  });
});

describe('A later sync that finds the users unchanged (issue 28, point 5)', () => {
  it('records them as seen without touching their rows, so reverting the earlier sync finds no conflict', async () => {
    const id = await location(
      'LATER',
      [{ id: 1, name: 'Renamed Remotely', email: 'renamed@later.test', role: 'vendor', is_active: true }],
      [{ email: 'renamed@later.test', name: 'Old Name', role: 'vendor', remote_id: '1' }],
    );
    const firstId = await syncAndExecute(id);
    const afterFirst = await userOf(id, 'renamed@later.test');
    expect(afterFirst).toMatchObject({ name: 'Renamed Remotely' });

    // Something for the second sync to do (a sync with nothing to do ends as a preview, never executed).
    await insertUsers(database.db, id, [{ email: 'extra@later.test', name: 'Only Here', role: 'vendor' }]);
    const secondId = await syncAndExecute(id);
    expect(await runRow(database.db, secondId)).toMatchObject({ update_count: 0, deactivate_count: 1, unchanged_count: 1 });
    // Its row stays as the first sync left it; the second one is recorded as its last sync.
    expect(await userOf(id, 'renamed@later.test')).toEqual(afterFirst);
    const sighting = (await sightingOf(database.db, id, afterFirst.id))!;
    expect(sighting.getTime()).toBeGreaterThan(afterFirst.last_synced_at.getTime());
    expect(sighting.getTime()).toBeGreaterThanOrEqual(((await runRow(database.db, secondId)).created_at as Date).getTime());

    const revertId = await revertPreview(firstId);
    expect(await runRow(database.db, revertId)).toMatchObject({ update_count: 1, conflict_count: 0 });
    // A revert reads no remote: executing it writes the user back and records no sighting.
    expect((await executeSync(agent, revertId)).status).toBe(303);
    expect(await userOf(id, 'renamed@later.test')).toMatchObject({ name: 'Old Name' });
    expect(await sightingOf(database.db, id, afterFirst.id)).toEqual(sighting);
  });
});
