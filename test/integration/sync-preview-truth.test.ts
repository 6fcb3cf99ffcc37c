import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_ADMIN, type TestApp } from '../support/app';
import { csrfFrom, postForm, signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { DEFAULT_REMOTE_CREDENTIALS, startLaravelServer, type LaravelServer } from '../support/laravel-server';
import {
  REMOTE_ENV,
  addLocation,
  executeSync,
  expectPlanApplied,
  insertUsers,
  itemsOf,
  previewSync,
  runRow,
  snapshot,
  waitForRun,
  type LocalUser,
  reasonText,
  supersededText,
  withSupersededText,
} from '../support/sync-fixtures';

// Issue 14: the preview shows exactly what Confirm & Execute will do, bound to where its list came from,
// and every way a preview ends is recorded.

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
const servers: LaravelServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  t = await buildTestApp(database, { ...REMOTE_ENV, REMOTE_PER_PAGE: '50', REMOTE_RETRIES: '0' });
  agent = await signedInAgent(t.app);
});
afterAll(async () => {
  await t.close();
  await Promise.all(servers.map((s) => s.close()));
  await database.drop();
});

type RemoteRow = Record<string, unknown>;
const remoteRow = (i: number, extra: RemoteRow = {}): RemoteRow => ({
  id: i,
  name: `User ${i}`,
  email: `user${i}@x.test`,
  role: 'vendor',
  is_active: true,
  ...extra,
});
const localRow = (i: number, extra: Partial<LocalUser> = {}): LocalUser => ({
  email: `user${i}@x.test`,
  name: `User ${i}`,
  role: 'vendor',
  remote_id: String(i),
  ...extra,
});
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A location served by its own Laravel-shaped remote, with local users. */
async function location(code: string, remote: RemoteRow[], local: LocalUser[]) {
  const server = await startLaravelServer({ users: remote, shape: 'paginate' });
  servers.push(server);
  const locationId = await addLocation(database.db, code, server.url);
  await insertUsers(database.db, locationId, local);
  return { locationId, server };
}

const pageOf = async (runId: number, query = '') => (await agent.get(`/admin/users/sync/${runId}${query}`)).text;
const tableOf = (html: string, kind: string) => new RegExp(`<table[^>]*data-kind="${kind}"[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
const emailsIn = (table: string) => [...table.matchAll(/<tr data-email="([^"]+)"/g)].map((m) => m[1]);
const userOf = (locationId: number, email: string) => database.db('users').where({ location_id: locationId, email }).first();

describe('remote "inactive" is a deactivation, under the guard', () => {
  it('when the remote marks users inactive, then they are deactivations "inactive on X" beside "missing from X", red, guarded, with their other changes in the same row', async () => {
    // 15 active users and one asleep locally; remotely 12 of them inactive (in every spelling), one also
    // renamed, the sleeper active again, and `gone` not listed at all.
    const inactiveFlags = [false, 0, '0'];
    const remote = [
      ...range(1, 12).map((i) => remoteRow(i, { is_active: inactiveFlags[i % 3], ...(i === 1 ? { name: 'Renamed While Leaving' } : {}) })),
      ...range(13, 15).map((i) => remoteRow(i)),
      remoteRow(16, { email: 'sleeper@x.test', name: 'Sleeper' }),
    ];
    const { locationId } = await location('INACT', remote, [
      ...range(1, 15).map((i) => localRow(i)),
      localRow(16, { email: 'sleeper@x.test', name: 'Sleeper', is_active: false }),
      { email: 'gone@x.test', name: 'Gone Away', role: 'vendor', remote_id: '99' },
    ]);

    const runId = await previewSync(agent, locationId);
    expect(await runRow(database.db, runId)).toMatchObject({
      status: 'previewed',
      local_active_count: 16,
      update_count: 1,
      deactivate_count: 13,
      unchanged_count: 3,
      guard_required: true,
      active_after_count: 16 - 13 + 1,
    });
    const deactivations = await itemsOf(database.db, runId, 'deactivate');
    expect(deactivations.map((i) => [i.email, reasonText(i)])).toEqual([
      ...range(1, 12).map((i) => [`user${i}@x.test`, 'inactive on INACT']),
      ['gone@x.test', 'missing from INACT'],
    ]);
    expect(deactivations[0]).toMatchObject({
      before: { email: 'user1@x.test', name: 'User 1', is_active: true },
      after: { email: 'user1@x.test', name: 'Renamed While Leaving', is_active: false },
    });
    const [reactivation] = await itemsOf(database.db, runId, 'update');
    expect(reactivation!.after).toEqual({ email: 'sleeper@x.test', is_active: true, reactivated: true });

    const page = await pageOf(runId);
    expect(page).toContain('data-count="deactivate">13<');
    expect(page).toContain('class="badge badge-danger">To deactivate');
    const deactivateTable = tableOf(page, 'deactivate');
    expect(emailsIn(deactivateTable)).toEqual([...range(1, 12).map((i) => `user${i}@x.test`), 'gone@x.test']);
    expect(deactivateTable).toContain('<span class="sync-reason">inactive on INACT</span>');
    expect(deactivateTable).toContain('<span class="sync-reason">missing from INACT</span>');
    // The rename shows in the deactivation's own row, not as an update.
    expect(deactivateTable).toMatch(/Name:<\/span> <del>User 1<\/del> → <ins>Renamed While Leaving<\/ins>/);
    expect(emailsIn(tableOf(page, 'update'))).toEqual(['sleeper@x.test']);
    expect(tableOf(page, 'update')).toContain('Reactivated');
    expect(page).toContain('Warning: mass deactivation.');
    expect(page.replace(/\s+/g, ' ')).toContain(
      'This sync deactivates 13 of the 16 active users of INACT (81%): 12 inactive on INACT, 1 missing from INACT.',
    );
    expect(page).toContain('13 deactivated (12 inactive on INACT, 1 missing from INACT)');
    expect(page).toContain('name="confirm_code"');
    expect(page).toContain('class="btn btn-danger">Confirm &amp; Execute');

    const before = await snapshot(database.db);
    const refused = await executeSync(agent, runId);
    expect(refused.status).toBe(303);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await pageOf(runId)).toContain('type INACT to confirm this sync, which deactivates 13 of 16 active users');

    expect((await executeSync(agent, runId, { confirm_code: 'INACT' })).status).toBe(303);
    await expectPlanApplied(database.db, runId, before);
    expect(await userOf(locationId, 'user1@x.test')).toMatchObject({ is_active: false, name: 'Renamed While Leaving' });
    expect((await userOf(locationId, 'user12@x.test')).deactivated_at).not.toBeNull();
    expect(await userOf(locationId, 'sleeper@x.test')).toMatchObject({ is_active: true, deactivated_at: null });
    expect(await pageOf(runId)).toContain(
      'Sync completed: 0 added, 1 updated, 0 linked, 13 deactivated (12 inactive on INACT, 1 missing from INACT), 3 unchanged.',
    );
  });

  it('when the remote marks every user inactive, then the guard fires even below its minimum: nobody would be left active', async () => {
    const { locationId } = await location(
      'ALLOFF',
      range(1, 5).map((i) => remoteRow(i, { is_active: 0 })),
      range(1, 5).map((i) => localRow(i)),
    );
    const runId = await previewSync(agent, locationId);
    expect(await runRow(database.db, runId)).toMatchObject({
      deactivate_count: 5,
      local_active_count: 5,
      active_after_count: 0,
      guard_required: true,
    });
    const page = await pageOf(runId);
    expect(page).toContain('data-count="deactivate">5<');
    expect(page).toContain('After it, ALLOFF has no active user left.');
    expect(page).toContain('name="confirm_code"');
  });

  it('when a few users are inactive remotely, below the guard minimum, then no code is asked', async () => {
    const { locationId } = await location(
      'FEWOFF',
      range(1, 5).map((i) => remoteRow(i, { is_active: i <= 3 ? false : true })),
      range(1, 5).map((i) => localRow(i)),
    );
    const runId = await previewSync(agent, locationId);
    expect(await runRow(database.db, runId)).toMatchObject({ deactivate_count: 3, guard_required: false });
    expect(await pageOf(runId)).not.toContain('name="confirm_code"');
  });
});

describe('linked, not updated', () => {
  it('when a change only records the remote id of a local user without one, then it is Linked (folded), and applied', async () => {
    const { locationId } = await location(
      'LINK',
      [remoteRow(1), remoteRow(2), remoteRow(3, { name: 'Renamed' }), remoteRow(4)],
      [localRow(1, { remote_id: null }), localRow(2, { remote_id: null }), localRow(3, { remote_id: null }), localRow(4, { remote_id: 'old-4' })],
    );
    const runId = await previewSync(agent, locationId);
    expect(await runRow(database.db, runId)).toMatchObject({ linked_count: 2, update_count: 2, unchanged_count: 0 });
    expect((await itemsOf(database.db, runId, 'linked')).map((i) => [i.email, i.before, i.after])).toEqual([
      ['user1@x.test', { email: 'user1@x.test', remote_id: null }, { email: 'user1@x.test', remote_id: '1' }],
      ['user2@x.test', { email: 'user2@x.test', remote_id: null }, { email: 'user2@x.test', remote_id: '2' }],
    ]);
    // A rename with the link, or a different remote id, is a real update.
    expect((await itemsOf(database.db, runId, 'update')).map((i) => i.email)).toEqual(['user3@x.test', 'user4@x.test']);

    const page = await pageOf(runId);
    expect(page).toContain('data-count="linked">2<');
    expect(page).toMatch(/<details>\s*<summary>\s*<h2 id="heading-linked">/);
    expect(emailsIn(tableOf(page, 'update'))).toEqual(['user3@x.test', 'user4@x.test']);
    expect(await pageOf(runId, '?linked_page=1')).toMatch(/<details open>\s*<summary>\s*<h2 id="heading-linked">/);

    const before = await snapshot(database.db);
    expect((await executeSync(agent, runId)).status).toBe(303);
    await expectPlanApplied(database.db, runId, before);
    expect(await userOf(locationId, 'user1@x.test')).toMatchObject({ remote_id: '1', name: 'User 1' });
    expect(await pageOf(runId)).toContain('Sync completed: 0 added, 2 updated, 2 linked, 0 deactivated, 0 unchanged.');
  });
});

describe('a preview is bound to its source', () => {
  it('records and shows where its list came from: URL, login, the variables holding it, row count and time; never the password', async () => {
    const { locationId, server } = await location('BIND', [remoteRow(1), remoteRow(2)], [localRow(1, { name: 'Old' })]);
    const runId = await previewSync(agent, locationId);
    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({
      source_url: server.url,
      source_login: DEFAULT_REMOTE_CREDENTIALS.email,
      source_credential: 'EXTERNAL_API_EMAIL / EXTERNAL_API_PASSWORD',
      remote_count: 2,
    });
    expect(new Date(run.fetched_at as string).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const page = await pageOf(runId);
    expect(page).toMatch(
      new RegExp(`Fetched from <a href="${server.url}"[^>]*>${server.url}</a>\\s*as <strong>${DEFAULT_REMOTE_CREDENTIALS.email}</strong>`),
    );
    expect(page).toContain('(EXTERNAL_API_EMAIL / EXTERNAL_API_PASSWORD)');
    // The time as the pages show it (DISPLAY_TIMEZONE, e.g. "30 Nov 2026 14:06 WIB").
    expect(page).toMatch(/at \d{1,2} \w{3} \d{4} \d\d:\d\d [A-Z]+: <span data-count="remote-rows">2<\/span> remote rows/);
    expect(page).not.toContain(DEFAULT_REMOTE_CREDENTIALS.password);
    expect(JSON.stringify(run)).not.toContain(DEFAULT_REMOTE_CREDENTIALS.password);
  });

  it('when the URL changed after the preview, then execute changes nothing, marks the run superseded and says why', async () => {
    const { locationId, server } = await location('MOVED', [remoteRow(1), remoteRow(2)], [localRow(1, { name: 'Old' })]);
    const runId = await previewSync(agent, locationId);
    // Another instance (or a console) repoints the location: no edit form, so only execute can notice.
    await database.db('locations').where({ id: locationId }).update({ online_url: 'http://127.0.0.1:9' });
    const before = await snapshot(database.db);
    const response = await executeSync(agent, runId);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/users/sync/${runId}`);
    expect(await snapshot(database.db)).toEqual(before);
    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({ status: 'superseded', executed_by: null });
    expect(supersededText(run)).toBe(`The online URL of MOVED changed after the preview (from ${server.url} to http://127.0.0.1:9).`);
    const page = await pageOf(runId);
    expect(page).toContain('data-status="superseded"');
    expect(page).toContain(`The online URL of MOVED changed after the preview (from ${server.url} to http://127.0.0.1:9).`);
    expect(page).toContain('nothing was changed');
    expect(page).not.toContain('/execute"');
    expect(t.logs.entries().some((e) => e.msg === 'sync execute refused' && e.runId === runId && e.outcome === 'superseded')).toBe(true);
  });

  it('when the location was deactivated after the preview, then execute refuses the same way', async () => {
    const { locationId } = await location('NAPPING', [remoteRow(1)], [localRow(1, { name: 'Old' })]);
    const runId = await previewSync(agent, locationId);
    await database.db('locations').where({ id: locationId }).update({ is_active: false });
    const before = await snapshot(database.db);
    await executeSync(agent, runId);
    expect(await snapshot(database.db)).toEqual(before);
    expect(withSupersededText(await runRow(database.db, runId))).toMatchObject({
      status: 'superseded',
      superseded_reason: 'NAPPING was deactivated after the preview.',
    });
  });

  it('when the API login changed after the preview (another configuration), then execute refuses', async () => {
    const { locationId } = await location('RELOG', [remoteRow(1)], [localRow(1, { name: 'Old' })]);
    const runId = await previewSync(agent, locationId);
    const other = await buildTestApp(database, { ...REMOTE_ENV, EXTERNAL_API_RELOG_EMAIL: 'someone-else@remote.test' });
    try {
      const otherAgent = await signedInAgent(other.app);
      const before = await snapshot(database.db);
      await executeSync(otherAgent, runId);
      expect(await snapshot(database.db)).toEqual(before);
      expect(withSupersededText(await runRow(database.db, runId))).toMatchObject({
        status: 'superseded',
        superseded_reason: `The API login of RELOG changed after the preview (from ${DEFAULT_REMOTE_CREDENTIALS.email} to someone-else@remote.test).`,
      });
    } finally {
      await other.close();
    }
  });

  it('when the URL changes after the execute was handed to its job, then the job changes nothing and marks the run superseded', async () => {
    const { locationId, server } = await location('QUEUED', [remoteRow(1), remoteRow(2)], [localRow(1, { name: 'Old' })]);
    const runId = await previewSync(agent, locationId);
    const { userSync } = t.container.services;
    const adminId = (await database.db('users').where({ email: TEST_ADMIN.email }).first()).id as number;
    // The request's checks pass and the run waits for its job (no job is sent here, so none can run early).
    expect((await userSync.execute(runId, adminId, undefined, 'web', { handOver: true })).kind).toBe('handed-over');
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'executing' });
    await database.db('locations').where({ id: locationId }).update({ online_url: 'http://127.0.0.1:9' });
    const before = await snapshot(database.db);
    const outcome = await userSync.execute(runId, adminId, undefined, 'web', { handedOver: true });
    expect(outcome).toMatchObject({ kind: 'superseded' });
    expect(await snapshot(database.db)).toEqual(before);
    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({ status: 'superseded', executed_by: null });
    expect(supersededText(run)).toBe(`The online URL of QUEUED changed after the preview (from ${server.url} to http://127.0.0.1:9).`);
    // The location's slot is free again: a new preview of it can start.
    expect(await previewSync(agent, locationId)).toBeGreaterThan(runId);
  });

  it('when a location is edited or deactivated, then its open previews are superseded at once (other locations keep theirs)', async () => {
    const edited = await location('EDITED', [remoteRow(1)], [localRow(1, { name: 'Old' })]);
    const bystander = await location('BYSTANDER', [remoteRow(1)], [localRow(1, { name: 'Old' })]);
    const first = await previewSync(agent, edited.locationId);
    const second = await previewSync(agent, edited.locationId);
    const untouched = await previewSync(agent, bystander.locationId);
    const saved = await postForm(agent, `/admin/locations/${edited.locationId}`, { code: 'EDITED', name: 'Edited', online_url: edited.server.url });
    expect(saved.status).toBe(303);
    for (const runId of [first, second]) {
      expect(withSupersededText(await runRow(database.db, runId))).toMatchObject({
        status: 'superseded',
        superseded_reason: 'EDITED was edited after the preview.',
      });
    }
    expect(await runRow(database.db, untouched)).toMatchObject({ status: 'previewed' });

    const third = await previewSync(agent, edited.locationId);
    expect((await postForm(agent, `/admin/locations/${edited.locationId}/deactivate`, {}, '/admin/locations')).status).toBe(303);
    expect(withSupersededText(await runRow(database.db, third))).toMatchObject({
      status: 'superseded',
      superseded_reason: 'EDITED was deactivated after the preview.',
    });
  });
});

describe('every ending is recorded', () => {
  let noChangeRun: number;
  let discardedRun: number;
  let failedRun: number;

  it('when nothing changes, then the preview says so, offers no Confirm, and is recorded as no_change', async () => {
    const { locationId } = await location(
      'SAME',
      range(1, 3).map((i) => remoteRow(i)),
      range(1, 3).map((i) => localRow(i)),
    );
    noChangeRun = await previewSync(agent, locationId);
    expect(await runRow(database.db, noChangeRun)).toMatchObject({ status: 'no_change', unchanged_count: 3, expires_at: null });
    const page = await pageOf(noChangeRun);
    expect(page).toContain('Nothing to change: the 3 users of SAME already match the remote.');
    expect(page).toContain('data-status="no_change"');
    expect(page).not.toContain('/execute"');
    expect(page).not.toContain('/discard"');
    const before = await snapshot(database.db);
    await executeSync(agent, noChangeRun);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await pageOf(noChangeRun)).toContain('Nothing to execute: the users already match the remote.');
  });

  it('when an admin discards a preview (with a CSRF token), then it ends discarded, by whom and when, and cannot be executed', async () => {
    const { locationId } = await location('TOSS', [remoteRow(1), remoteRow(2)], [localRow(1, { name: 'Old' })]);
    discardedRun = await previewSync(agent, locationId);
    const page = await pageOf(discardedRun);
    expect(page).toContain(`formaction="/admin/users/sync/${discardedRun}/discard"`);

    const forged = await agent.post(`/admin/users/sync/${discardedRun}/discard`).type('form').send({});
    expect(forged.status).toBe(403);
    expect(await runRow(database.db, discardedRun)).toMatchObject({ status: 'previewed' });

    const response = await agent
      .post(`/admin/users/sync/${discardedRun}/discard`)
      .type('form')
      .send({ _csrf: csrfFrom(page) });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/users/sync/${discardedRun}`);
    const admin = await database.db('users').where({ email: TEST_ADMIN.email }).first();
    const run = await runRow(database.db, discardedRun);
    expect(run).toMatchObject({ status: 'discarded', discarded_by: admin.id });
    expect(run.discarded_at).not.toBeNull();
    const after = await pageOf(discardedRun);
    expect(after).toContain('Preview discarded; nothing was changed.');
    expect(after).toMatch(new RegExp(`This preview was discarded by ${TEST_ADMIN.email} at \\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d`));
    expect(after).not.toContain('/execute"');

    const before = await snapshot(database.db);
    await executeSync(agent, discardedRun);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await pageOf(discardedRun)).toContain('This preview was discarded and cannot be executed');
    const again = await agent
      .post(`/admin/users/sync/${discardedRun}/discard`)
      .type('form')
      .send({ _csrf: csrfFrom(after) });
    expect(again.status).toBe(303);
    expect(await pageOf(discardedRun)).toContain('not an open preview (discarded)');
    expect(t.logs.entries().some((e) => e.msg === 'sync preview discarded' && e.runId === discardedRun)).toBe(true);
  });

  it('history shows each outcome distinctly and filters by outcome', async () => {
    const unreachable = await addLocation(database.db, 'DOWN', 'http://127.0.0.1:9');
    failedRun = await previewSync(agent, unreachable);
    const { locationId } = await location('STALE', [remoteRow(1)], [localRow(1, { name: 'Old' })]);
    const expiredRun = await previewSync(agent, locationId);
    await database
      .db('sync_runs')
      .where({ id: expiredRun })
      .update({ expires_at: database.db.raw("now() - interval '1 minute'") });

    const history = (await agent.get('/admin/sync-runs')).text;
    const statusOf = (runId: number) => new RegExp(`<tr data-run="${runId}">[\\s\\S]*?data-status="([a-z_]+)"`).exec(history)?.[1];
    expect(statusOf(noChangeRun)).toBe('no_change');
    expect(statusOf(discardedRun)).toBe('discarded');
    expect(statusOf(failedRun)).toBe('failed');
    expect(statusOf(expiredRun)).toBe('expired');
    expect(history).toContain('>No change</span>');
    expect(history).toContain('>Discarded</span>');
    expect(history).toContain('>Superseded</span>');
    expect(history).toContain('>Expired</span>');
    expect(history).toContain('>Completed</span>');

    const discarded = (await agent.get('/admin/sync-runs?status=discarded')).text;
    const listed = [...discarded.matchAll(/<tr data-run="(\d+)">/g)].map((m) => Number(m[1]));
    expect(listed).toEqual([discardedRun]);
    expect(discarded).toContain('<option value="discarded" selected>');
    const superseded = (await agent.get('/admin/sync-runs?status=superseded')).text;
    expect([...superseded.matchAll(/data-status="([a-z_]+)"/g)].map((m) => m[1]).every((s) => s === 'superseded')).toBe(true);
    expect((await agent.get('/admin/sync-runs?status=cancelled')).text).toContain('No sync runs yet with the outcome Cancelled.');
    // An unknown outcome is ignored, not an error.
    expect((await agent.get('/admin/sync-runs?status=bogus')).status).toBe(200);
  });
});

describe('a bad row is a rejected row, never a 500', () => {
  it('when the remote sends a NUL byte, control characters, a lone surrogate or an over-long field, then those rows are rejected and the rest goes on', async () => {
    const { locationId } = await location(
      'DIRTY',
      [
        remoteRow(1),
        remoteRow(2, { name: 'Nul\u0000Name' }),
        remoteRow(3, { email: 'bell\u0007@x.test' }),
        remoteRow(4, { role: 'lone \udc00' }),
        remoteRow(5, { name: 'n'.repeat(300) }),
        remoteRow(6, { email: 'with space@x.test' }),
        remoteRow(7),
      ],
      [localRow(2), localRow(5)],
    );
    const response = await agent
      .post('/admin/users/sync/preview')
      .type('form')
      .send({ location_id: String(locationId), _csrf: csrfFrom((await agent.get('/admin/users')).text) });
    expect(response.status).toBe(303);
    const runId = Number(/(\d+)$/.exec(response.headers.location!)![1]);
    // The 303 comes before the job's preview: wait for it to end, then look at what it saved.
    expect(await waitForRun(agent, runId)).toMatchObject({ status: 'previewed' });
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', new_count: 2, rejected_count: 5, deactivate_count: 0 });
    expect((await itemsOf(database.db, runId, 'rejected')).map((i) => [i.email, reasonText(i)])).toEqual([
      ['user2@x.test', 'name contains a control character (U+0000)'],
      [null, 'email contains a control character (U+0007)'],
      ['user4@x.test', 'role contains an unpaired surrogate (U+DC00)'],
      ['user5@x.test', 'name is longer than 255 characters'],
      ['with space@x.test', 'invalid email "with space@x.test"'],
    ]);
    const page = await agent.get(`/admin/users/sync/${runId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('name contains a control character (U+0000)');
    expect(page.text).toContain('Nul\\u0000Name');
  });

  it('when the remote sends look-alikes of a user (fullwidth letter, Cyrillic а, zero-width space), then the fullwidth one is that user and the others are rejected with their reason', async () => {
    // Issue 26, finding 6: before, each was a new user that read exactly like admin@x.test.
    const { locationId } = await location(
      'LOOKALIKE',
      [
        remoteRow(1, { email: 'admin@x.ｔest', name: 'Admin' }),
        remoteRow(2, { email: '\u0430dmin@x.test', name: 'Admin' }),
        remoteRow(3, { email: 'admin\u200b@x.test', name: 'Admin' }),
        remoteRow(4),
      ],
      [localRow(1, { email: 'admin@x.test', name: 'Admin' })],
    );
    const runId = await previewSync(agent, locationId);
    expect(await runRow(database.db, runId)).toMatchObject({
      status: 'previewed',
      new_count: 1,
      unchanged_count: 1,
      rejected_count: 2,
      deactivate_count: 0,
    });
    expect((await itemsOf(database.db, runId, 'new')).map((i) => i.email)).toEqual(['user4@x.test']);
    expect((await itemsOf(database.db, runId, 'rejected')).map((i) => [i.email, i.reason])).toEqual([
      ['\u0430dmin@x.test', 'email mixes Cyrillic and Latin letters (look-alike of another address)'],
      ['admin@x.test', 'email contains an invisible character (U+200B)'],
    ]);
    const page = await agent.get(`/admin/users/sync/${runId}`);
    expect(page.text).toContain('email mixes Cyrillic and Latin letters (look-alike of another address)');
    expect(page.text).toContain('email contains an invisible character (U+200B)');
    expect(page.text).toContain('admin\\u200b@x.test');
    const csv = await agent.get(`/admin/users/sync/${runId}/export.csv`);
    expect(csv.text).toContain('email contains an invisible character (U+200B)');

    await executeSync(agent, runId);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed' });
    const users = await database.db('users').where({ location_id: locationId }).orderBy('email').pluck('email');
    expect(users).toEqual(['admin@x.test', 'user4@x.test']);
  });

  it('when the preview fails unexpectedly, then a failed run says so and the admin lands on it', async () => {
    const { locationId } = await location('BOOM', [remoteRow(1, { email: 'boom@x.test' }), remoteRow(2)], []);
    // The database refuses one planned item: an error no remote row can cause, as a bug would.
    await database.db.raw(`ALTER TABLE sync_run_items ADD CONSTRAINT test_boom CHECK (email IS DISTINCT FROM 'boom@x.test')`);
    let runId: number;
    try {
      runId = await previewSync(agent, locationId);
    } finally {
      await database.db.raw('ALTER TABLE sync_run_items DROP CONSTRAINT test_boom');
    }
    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({ status: 'failed', location_id: locationId, new_count: 0 });
    expect(run.error).toBe(
      'The preview of BOOM failed unexpectedly (database error 23514); nothing was changed. Run the preview again; if it fails again, the log has the details.',
    );
    expect(await itemsOf(database.db, runId)).toEqual([]);
    const page = await agent.get(`/admin/users/sync/${runId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('This sync failed; no user was changed.');
    expect(t.logs.entries().some((e) => e.msg === 'sync preview failed: unexpected error' && e.runId === runId)).toBe(true);
  });
});

describe('a plan an admin can sign off', () => {
  let runId: number;

  beforeAll(async () => {
    // 1,250 new users, 60 role changes, 40 renames, 30 unchanged.
    const remote = [
      ...range(1, 60).map((i) => remoteRow(i, { role: 'manager' })),
      ...range(61, 100).map((i) => remoteRow(i, { name: `Renamed ${i}` })),
      ...range(101, 130).map((i) => remoteRow(i)),
      ...range(1001, 2250).map((i) => remoteRow(i)),
    ];
    const { locationId } = await location(
      'BIG',
      remote,
      range(1, 130).map((i) => localRow(i)),
    );
    runId = await previewSync(agent, locationId);
  });

  it('groups its numbers', async () => {
    expect(await runRow(database.db, runId)).toMatchObject({ new_count: 1250, update_count: 100, unchanged_count: 30 });
    const page = await pageOf(runId);
    expect(page).toContain('data-count="new">1,250<');
    expect(page).toContain('<span data-count="remote">1,380</span>');
    expect(page).toContain('New: 1–100 of 1,250');
    expect((await agent.get('/admin/sync-runs')).text).toMatch(/<td class="num"[^>]*>1,250<\/td>/);
  });

  it('keeps the counts and Confirm & Execute / Discard at the top, before the first row', async () => {
    const page = await pageOf(runId);
    const actions = page.indexOf(`action="/admin/users/sync/${runId}/execute"`);
    expect(actions).toBeGreaterThan(page.indexOf('data-count="new"'));
    expect(actions).toBeLessThan(page.indexOf('id="section-new"'));
    expect(page.indexOf(`/admin/users/sync/${runId}/discard`)).toBeLessThan(page.indexOf('id="section-new"'));
    expect(page).toContain('<a href="#sync-actions">Back to Confirm &amp; Execute</a>');
  });

  it('filters a section by email or name, and Updated by the changed field, keeping the other sections as they were', async () => {
    const byEmail = await pageOf(runId, '?new_q=USER2249');
    expect(emailsIn(tableOf(byEmail, 'new'))).toEqual(['user2249@x.test']);
    expect(byEmail).toContain('New: 1–1 of 1 matching the filter');
    expect(emailsIn(tableOf(byEmail, 'update'))).toHaveLength(100);

    const byName = await pageOf(runId, '?update_q=renamed%209');
    expect(emailsIn(tableOf(byName, 'update'))).toEqual(['user90@x.test', ...range(91, 99).map((i) => `user${i}@x.test`)]);

    const roles = await pageOf(runId, '?update_field=role');
    const roleRows = emailsIn(tableOf(roles, 'update'));
    expect(roleRows).toEqual(range(1, 60).map((i) => `user${i}@x.test`));
    expect(roles).toContain('<option value="role" selected>');
    const names = await pageOf(runId, '?update_field=name&new_page=2');
    expect(emailsIn(tableOf(names, 'update'))).toEqual(range(61, 100).map((i) => `user${i}@x.test`));
    // The New section stays on its page, and its links keep the Updated filter.
    expect(names).toContain('New: 101–200 of 1,250');
    expect(names).toContain('href="/admin/users/sync/' + runId + '?new_page=3&amp;update_field=name#section-new"');

    const none = await pageOf(runId, '?new_q=nobody-like-this');
    expect(none).toContain('None match the filter.');
    // LIKE wildcards are plain characters.
    expect(emailsIn(tableOf(await pageOf(runId, '?new_q=%25'), 'new'))).toEqual([]);

    const unchanged = await pageOf(runId, '?unchanged_q=user10');
    expect(unchanged).toMatch(/<h2 id="heading-unchanged">[\s\S]*?<details open>\s*<summary>/);
    expect(emailsIn(tableOf(unchanged, 'unchanged'))).toEqual(range(101, 109).map((i) => `user${i}@x.test`));
  });

  it('jumps to a page with a form that keeps every other section state', async () => {
    const page = await pageOf(runId, '?update_field=role');
    const jump = /<form method="get" action="\/admin\/users\/sync\/\d+#section-new" class="pager-jump">[\s\S]*?<\/form>/.exec(page)?.[0] ?? '';
    expect(jump).toContain('<input type="hidden" name="update_field" value="role">');
    expect(jump).toContain('name="new_page" min="1" max="13"');
    const jumped = await pageOf(runId, '?update_field=role&new_page=13');
    expect(jumped).toContain('Page 13 of 13');
    expect(jumped).toContain('New: 1,201–1,250 of 1,250');
    expect(emailsIn(tableOf(jumped, 'update'))).toHaveLength(60);
  });
});
