import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp, type TestApp } from '../support/app';
import { csrfFrom, signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
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
  waitForAdvisoryWaiter,
  waitForRun,
  type LocalUser,
  reasonText,
} from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
const servers: LaravelServer[] = [];

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({ ...REMOTE_ENV, REMOTE_PER_PAGE: '3', REMOTE_RETRIES: '0' }),
);
beforeAll(async () => {
  agent = await signedInAgent(t.app);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const remoteUser = (email: string, extra: Record<string, unknown> = {}) => ({
  id: email,
  name: `Remote ${email}`,
  email,
  role: 'vendor',
  is_active: true,
  ...extra,
});

/**
 * A location of its own with a Laravel-shaped remote: `keep` users exist on both sides and match,
 * `changed` differ in name, `added` are remote only, `gone` local only.
 */
async function scenario(code: string, plan: { keep?: number; changed?: number; added?: number; gone?: number } = {}) {
  const make = (kind: string, n = 0) => Array.from({ length: n }, (_, i) => `${kind}${i + 1}@${code.toLowerCase()}.test`);
  const keep = make('keep', plan.keep ?? 2);
  const changed = make('changed', plan.changed ?? 1);
  const added = make('added', plan.added ?? 1);
  const gone = make('gone', plan.gone ?? 1);
  const remote = await startLaravelServer({
    users: [...keep, ...changed, ...added].map((email) => remoteUser(email, { name: changed.includes(email) ? 'New Name' : `Remote ${email}` })),
  });
  servers.push(remote);
  const locationId = await addLocation(database.db, code, remote.url);
  const local: LocalUser[] = [...keep, ...changed, ...gone].map((email) => ({ email, name: `Remote ${email}`, role: 'vendor', remote_id: email }));
  await insertUsers(database.db, locationId, local);
  return { locationId, remote, keep, changed, added, gone };
}

const pageOf = async (runId: number) => (await agent.get(`/admin/users/sync/${runId}`)).text;

describe('single use', () => {
  it('applies a preview once when Execute is pressed twice; the second lands on the result', async () => {
    const { locationId } = await scenario('TWICE');
    const runId = await previewSync(agent, locationId);
    const before = await snapshot(database.db);
    expect((await executeSync(agent, runId)).status).toBe(303);
    await expectPlanApplied(database.db, runId, before);
    const afterFirst = await snapshot(database.db);

    const second = await executeSync(agent, runId);
    expect(second.status).toBe(303);
    expect(second.headers.location).toBe(`/admin/users/sync/${runId}`);
    expect(await snapshot(database.db)).toEqual(afterFirst);
    const page = await pageOf(runId);
    expect(page).toContain('This sync had already been executed; this is its result.');
    expect(page).toContain('Sync completed: 1 added, 1 updated, 0 linked, 1 deactivated (1 missing from TWICE), 2 unchanged.');
  });

  it('applies it once when two tabs execute at the same moment: one hands it to the job, the other is told it runs', async () => {
    const { locationId } = await scenario('RACE', { added: 5 });
    const runId = await previewSync(agent, locationId);
    const before = await snapshot(database.db);
    const other = await signedInAgent(t.app);
    const pageA = (await agent.get(`/admin/users/sync/${runId}`)).text;
    const pageB = (await other.get(`/admin/users/sync/${runId}`)).text;

    const responses = await Promise.all([
      agent
        .post(`/admin/users/sync/${runId}/execute`)
        .type('form')
        .send({ _csrf: csrfFrom(pageA) }),
      other
        .post(`/admin/users/sync/${runId}/execute`)
        .type('form')
        .send({ _csrf: csrfFrom(pageB) }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([303, 303]);
    await waitForRun(agent, runId);
    await expectPlanApplied(database.db, runId, before);
    expect(await database.db('users').where({ location_id: locationId }).count<{ count: number }[]>('* as count')).toEqual([{ count: 9 }]);
    expect(t.logs.entries().filter((e) => e.msg === 'sync executed' && e.runId === runId)).toHaveLength(1);
    const refused = t.logs.entries().filter((e) => e.msg === 'sync execute refused' && e.runId === runId);
    // The second found the run executing, or (when the job was quicker) already completed.
    expect(refused).toHaveLength(1);
    expect([
      ['not-executable', 'executing'],
      ['already-completed', undefined],
    ]).toContainEqual([refused[0]!.outcome, refused[0]!.status]);
  });
});

describe('expiry', () => {
  it('refuses an expired preview, marks it expired and changes nothing', async () => {
    const { locationId } = await scenario('EXPIRE');
    const runId = await previewSync(agent, locationId);
    await database
      .db('sync_runs')
      .where({ id: runId })
      .update({ expires_at: database.db.raw("now() - interval '1 minute'") });
    const before = await snapshot(database.db);

    const response = await executeSync(agent, runId);
    expect(response.status).toBe(303);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'expired', executed_at: null });
    const page = await pageOf(runId);
    expect(page).toContain('This preview expired; run it again.');
    expect(page).not.toContain('/execute"');
  });

  it('shows an overdue preview as expired when it is viewed, and the service reads it so, without a write', async () => {
    const { locationId } = await scenario('LAZY');
    const runId = await previewSync(agent, locationId);
    await database
      .db('sync_runs')
      .where({ id: runId })
      .update({ expires_at: database.db.raw("now() - interval '1 second'") });
    expect(await pageOf(runId)).toContain('This preview expired; run it again.');
    // Viewing is reading (issue 23): the expiry is computed where the run is read, the row is left alone.
    expect(await t.container.services.userSync.findRun(runId)).toMatchObject({ status: 'expired' });
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed' });
  });
});

describe('stale preview', () => {
  it('applies nothing when a user the plan updates changed after the preview', async () => {
    const { locationId, changed } = await scenario('STALE1');
    const runId = await previewSync(agent, locationId);
    // A plain UPDATE that does not touch updated_at: the trigger must still notice it.
    await database.db('users').where({ location_id: locationId, email: changed[0] }).update({ name: 'Edited by hand' });
    const before = await snapshot(database.db);

    expect((await executeSync(agent, runId)).status).toBe(303);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'failed', error: 'Data changed since the preview; run the preview again.' });
    expect(await pageOf(runId)).toContain('Data changed since the preview; run the preview again.');
  });

  it('applies nothing when a user appeared for an email the plan adds', async () => {
    const { locationId, added } = await scenario('STALE2');
    const runId = await previewSync(agent, locationId);
    await insertUsers(database.db, locationId, [{ email: added[0]!.toUpperCase(), name: 'Created meanwhile' }]);
    const before = await snapshot(database.db);

    expect((await executeSync(agent, runId)).status).toBe(303);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'failed' });
    expect(await pageOf(runId)).toContain('Data changed since the preview; run the preview again.');
  });
});

describe('one sync per location at a time', () => {
  it('waits for the location lock before applying anything', async () => {
    const { locationId } = await scenario('LOCKED');
    const runId = await previewSync(agent, locationId);
    const before = await snapshot(database.db);
    const holder = await database.db.transaction();
    await holder.raw('SELECT pg_advisory_xact_lock(?::int, ?::int)', [0x53594e43, locationId]);

    const pending = executeSync(agent, runId).then((r) => r);
    await waitForAdvisoryWaiter(database.db, new URL(database.url).pathname.slice(1));
    expect(await snapshot(database.db)).toEqual(before);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'executing' });

    await holder.commit();
    expect((await pending).status).toBe(303);
    await expectPlanApplied(database.db, runId, before);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed' });
  });

  it('of two previews of one location executed together, applies one; the other waits for the admin, then is stale', async () => {
    const { locationId } = await scenario('PAIR');
    const first = await previewSync(agent, locationId);
    const second = await previewSync(agent, locationId);
    const before = await snapshot(database.db);
    const other = await signedInAgent(t.app);
    const pageA = (await agent.get(`/admin/users/sync/${first}`)).text;
    const pageB = (await other.get(`/admin/users/sync/${second}`)).text;

    await Promise.all([
      agent
        .post(`/admin/users/sync/${first}/execute`)
        .type('form')
        .send({ _csrf: csrfFrom(pageA) }),
      other
        .post(`/admin/users/sync/${second}/execute`)
        .type('form')
        .send({ _csrf: csrfFrom(pageB) }),
    ]);
    await waitForRun(agent, first);
    await waitForRun(agent, second);
    // One active run per location: the second execute was refused while the first ran.
    const statuses = [(await runRow(database.db, first)).status, (await runRow(database.db, second)).status].sort();
    expect(statuses).toEqual(['completed', 'previewed']);
    const winner = (await runRow(database.db, first)).status === 'completed' ? first : second;
    const loser = winner === first ? second : first;
    await expectPlanApplied(database.db, winner, before);
    expect((await (loser === first ? agent : other).get(`/admin/users/sync/${loser}`)).text).toContain('Another sync of this location is running');

    const afterWinner = await snapshot(database.db);
    await executeSync(agent, loser);
    expect(await runRow(database.db, loser)).toMatchObject({ status: 'failed', error: 'Data changed since the preview; run the preview again.' });
    expect(await snapshot(database.db)).toEqual(afterWinner);
  });

  it('rolls back, marks the run failed and keeps serving when the connection dies mid-execute', async () => {
    const { locationId } = await scenario('KILLED');
    const runId = await previewSync(agent, locationId);
    const before = await snapshot(database.db);
    const holder = await database.db.transaction();
    await holder.raw('SELECT pg_advisory_xact_lock(?::int, ?::int)', [0x53594e43, locationId]);

    const pending = executeSync(agent, runId).then((r) => r);
    const pid = await waitForAdvisoryWaiter(database.db, new URL(database.url).pathname.slice(1));
    await database.db.raw('SELECT pg_terminate_backend(?::int)', [pid]);
    const response = await pending;
    await holder.commit();

    // The execute ran in a job: the admin was already on the run's page, which shows the failure.
    expect(response.status).toBe(303);
    expect(await snapshot(database.db)).toEqual(before);
    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({ status: 'failed' });
    expect(run.error).toContain('the database connection was terminated');
    expect(t.logs.entries().find((e) => e.msg === 'sync execute failed' && e.runId === runId)).toMatchObject({
      cause: 'the database connection was terminated',
    });
    expect((await agent.get('/admin/users')).status).toBe(200);
    expect(await pageOf(runId)).toContain('the database connection was terminated');
  });
});

describe('mass-deactivation guard', () => {
  it('needs the location code typed in when many users would be deactivated', async () => {
    const { locationId } = await scenario('GUARD', { keep: 10, changed: 0, added: 0, gone: 20 });
    const runId = await previewSync(agent, locationId);
    expect(await runRow(database.db, runId)).toMatchObject({ guard_required: true, deactivate_count: 20, local_active_count: 30 });
    const page = await pageOf(runId);
    expect(page).toContain('Warning: mass deactivation.');
    expect(page).toContain('This sync deactivates 20 of the 30 active users of GUARD');
    expect(page).toContain('name="confirm_code"');
    const before = await snapshot(database.db);

    await executeSync(agent, runId);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await pageOf(runId)).toContain(
      'No location code was typed: type GUARD to confirm this sync, which deactivates 20 of 30 active users. Nothing was changed.',
    );
    await executeSync(agent, runId, { confirm_code: 'GAURD' });
    expect(await snapshot(database.db)).toEqual(before);
    expect(await pageOf(runId)).toContain('The code you typed does not match');
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed' });

    // The code as shown only: the page says to type it exactly; spaces around it are forgiven.
    await executeSync(agent, runId, { confirm_code: 'guard' });
    expect(await snapshot(database.db)).toEqual(before);
    expect(await pageOf(runId)).toContain('The code you typed does not match: type GUARD to confirm this sync');
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed' });

    await executeSync(agent, runId, { confirm_code: ' GUARD ' });
    await expectPlanApplied(database.db, runId, before);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed', deactivate_count: 20 });
  });

  it('needs it when the remote returns no users at all while local ones are active', async () => {
    const remote = await startLaravelServer({ users: [] });
    servers.push(remote);
    const locationId = await addLocation(database.db, 'EMPTY', remote.url);
    await insertUsers(database.db, locationId, [{ email: 'a@empty.test' }, { email: 'b@empty.test' }, { email: 'c@empty.test', is_active: false }]);
    const runId = await previewSync(agent, locationId);
    expect(await runRow(database.db, runId)).toMatchObject({ guard_required: true, remote_count: 0, deactivate_count: 2 });
    expect(await pageOf(runId)).toContain('The remote returned no usable users, while EMPTY has 2 active users.');
    const before = await snapshot(database.db);
    await executeSync(agent, runId);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed' });
  });

  it('does not ask when the deactivations stay under the thresholds', async () => {
    const { locationId } = await scenario('CALM', { keep: 20, changed: 0, added: 0, gone: 5 });
    const runId = await previewSync(agent, locationId);
    expect(await runRow(database.db, runId)).toMatchObject({ guard_required: false, deactivate_count: 5 });
    expect(await pageOf(runId)).not.toContain('name="confirm_code"');
  });
});

describe('nothing from a partial list', () => {
  it('records a failed run naming location, page and cause, and changes no user', async () => {
    const { locationId, remote } = await scenario('PARTIAL', { keep: 5, changed: 1, added: 2, gone: 2 });
    remote.fault({ kind: 'status', status: 500, page: 2 });
    const before = await snapshot(database.db);
    const runsBefore = await snapshot(database.db, 'sync_run_items');

    const runId = await previewSync(agent, locationId);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await snapshot(database.db, 'sync_run_items')).toEqual(runsBefore);
    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({ status: 'failed', new_count: 0, deactivate_count: 0, expires_at: null });
    expect(run.error).toMatch(/PARTIAL/);
    expect(run.error).toMatch(/page 2/);
    expect(run.error).toMatch(/HTTP 5xx/);
    const page = await pageOf(runId);
    expect(page).toContain('This sync failed; no user was changed.');
    expect(page).toContain('page 2');
    expect(page).not.toContain('/execute"');
    expect(t.logs.entries().find((e) => e.msg === 'sync preview failed: remote list not fetched' && e.runId === runId)).toMatchObject({
      location: 'PARTIAL',
    });

    await executeSync(agent, runId);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await pageOf(runId)).toContain('This sync run failed and cannot be executed; run the preview again.');
  });
});

describe('rejected rows', () => {
  it('rejects bad rows with their reasons and never deactivates the local users they name', async () => {
    const remote = await startLaravelServer({
      users: [
        remoteUser('fine@rej.test'),
        remoteUser('Dup@Rej.test', { id: 2 }),
        remoteUser('dup@REJ.TEST', { id: 3 }),
        remoteUser('types@rej.test', { is_active: 'yes' }),
        remoteUser('bad email@rej.test'),
        { id: 6, name: 'No email at all' },
        remoteUser('named@rej.test', { name: 42 }),
      ],
    });
    servers.push(remote);
    const locationId = await addLocation(database.db, 'REJ', remote.url);
    await insertUsers(database.db, locationId, [
      { email: 'fine@rej.test', name: 'Remote fine@rej.test', role: 'vendor', remote_id: 'fine@rej.test' },
      { email: 'DUP@rej.test', name: 'Local dup' },
      { email: 'types@rej.test', name: 'Local types' },
      { email: 'named@rej.test', name: 'Local named' },
      { email: 'missing@rej.test', name: 'Really gone' },
    ]);
    const runId = await previewSync(agent, locationId);
    const rejected = await itemsOf(database.db, runId, 'rejected');
    expect(rejected.map((i) => [i.email, reasonText(i)]).sort()).toEqual(
      [
        [null, 'email is missing'],
        ['bad email@rej.test', 'invalid email "bad email@rej.test"'],
        ['dup@rej.test', 'email appears 2 times in the remote list'],
        ['dup@rej.test', 'email appears 2 times in the remote list'],
        ['named@rej.test', 'name is not a string'],
        ['types@rej.test', 'is_active is not a boolean, 0/1 or "0"/"1"'],
      ].sort(),
    );
    expect((await itemsOf(database.db, runId, 'deactivate')).map((i) => i.email)).toEqual(['missing@rej.test']);
    expect(await itemsOf(database.db, runId, 'update')).toEqual([]);
    const page = await pageOf(runId);
    expect(page).toContain('email appears 2 times in the remote list');
    expect(page).toContain('No email at all');

    const before = await snapshot(database.db);
    await executeSync(agent, runId);
    await expectPlanApplied(database.db, runId, before);
    const active = await database.db('users').where({ location_id: locationId, is_active: true }).orderBy('email').pluck('email');
    expect(active).toEqual(['DUP@rej.test', 'fine@rej.test', 'named@rej.test', 'types@rej.test']);
  });
});
