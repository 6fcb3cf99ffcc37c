import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, insertUsers, runRow, snapshot, waitForRun } from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let remote: LaravelServer;
let locationId: number;

beforeAll(async () => {
  database = await createTestDatabase();
  // The remote lost most of its users: a sync would deactivate 12 of 13, so the guard would trip.
  remote = await startLaravelServer({
    users: [
      { id: 1, name: 'Kept', email: 'kept@drift.test', role: 'vendor', is_active: true },
      { id: 2, name: 'Arrived', email: 'arrived@drift.test', role: 'vendor', is_active: true },
    ],
  });
  locationId = await addLocation(database.db, 'DRIFT', remote.url);
  await insertUsers(database.db, locationId, [
    { email: 'kept@drift.test', name: 'Kept', role: 'vendor', remote_id: '1' },
    ...Array.from({ length: 12 }, (_, i) => ({
      email: `left${i + 1}@drift.test`,
      name: `Left ${i + 1}`,
      role: 'vendor',
      remote_id: String(100 + i),
    })),
  ]);
  // Every minute, last checked two minutes ago: a check is due when the instance starts.
  await database
    .db('locations')
    .where({ id: locationId })
    .update({ drift_cron: '* * * * *', drift_checked_at: database.db.raw("now() - interval '2 minutes'") });
  t = await buildTestApp(database, REMOTE_ENV);
  agent = await signedInAgent(t.app);
});
afterAll(async () => {
  await t.close();
  await remote.close();
  await database.drop();
});

async function driftRuns(): Promise<Array<{ id: number; status: string }>> {
  return database.db('sync_runs').where({ location_id: locationId, run_type: 'drift' }).orderBy('id').select('id', 'status');
}

async function waitForDriftReport(): Promise<number> {
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    const [run] = await driftRuns();
    if (run) {
      await waitForRun(agent, run.id);
      return run.id;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no drift check ever started');
}

describe('a scheduled drift check', () => {
  it('when its time has come, then it runs a preview recorded as a report, which the Locations page summarises with a guard warning', async () => {
    const runId = await waitForDriftReport();
    expect(await runRow(database.db, runId)).toMatchObject({
      run_type: 'drift',
      status: 'previewed',
      previewed_by: null,
      new_count: 1,
      deactivate_count: 12,
      guard_required: true,
    });
    // The job engine ticks every minute for the schedules.
    const schedule = await database.db('pgboss.schedule').where({ name: 'sinkron-drift-tick' }).first();
    expect(schedule).toMatchObject({ cron: '* * * * *' });

    const page = (await agent.get(`/admin/users/sync/${runId}`)).text;
    expect(page).toContain('Drift check of');
    expect(page).toContain('This is a drift check: a report of what a sync would change now.');
    expect(page).not.toContain(`action="/admin/users/sync/${runId}/execute"`);
    expect(page).toContain('>Preview now</button>');

    const locations = (await agent.get('/admin/locations')).text;
    const row = locations.slice(locations.indexOf('data-code="DRIFT"'));
    expect(row).toContain(`href="/admin/users/sync/${runId}"`);
    expect(row).toMatch(
      /<span data-drift="new">1<\/span> new, <span data-drift="update">0<\/span> updated, <span data-drift="deactivate">12<\/span> to deactivate/,
    );
    expect(row).toContain('Would trip the mass-deactivation guard');
    expect(row).toMatch(/Last sync: <span class="muted">never<\/span>/);

    // Not due again until the schedule's next time: looking again starts nothing.
    await t.container.services.syncJobs.runDriftChecks();
    expect(await driftRuns()).toHaveLength(1);
  });

  it('when an admin executes a drift report, then nothing is applied; "Preview now" starts a normal preview', async () => {
    const [report] = await driftRuns();
    const before = await snapshot(database.db);
    const execute = await postForm(agent, `/admin/users/sync/${report!.id}/execute`, { confirm_code: 'DRIFT' }, `/admin/users/sync/${report!.id}`);
    expect(execute.status).toBe(303);
    expect(await snapshot(database.db)).toEqual(before);
    expect(await runRow(database.db, report!.id)).toMatchObject({ status: 'previewed', executed_at: null });
    expect((await agent.get(`/admin/users/sync/${report!.id}`)).text).toContain('a drift check is a report only');

    const preview = await postForm(agent, '/admin/users/sync/preview', { location_id: String(locationId) }, `/admin/users/sync/${report!.id}`);
    expect(preview.status).toBe(303);
    const runId = Number(/(\d+)$/.exec(preview.headers.location ?? '')![1]);
    await waitForRun(agent, runId);
    expect(await runRow(database.db, runId)).toMatchObject({ run_type: 'sync', status: 'previewed', deactivate_count: 12 });
    expect((await agent.get(`/admin/users/sync/${runId}`)).text).toContain(`action="/admin/users/sync/${runId}/execute"`);
  });

  it('when the schedule in the location form is not a cron expression, then it is refused with a reason; a valid one is saved', async () => {
    const form = { code: 'DRIFT', name: 'Location DRIFT', online_url: remote.url };
    const save = (driftCron: string) =>
      postForm(agent, `/admin/locations/${locationId}`, { ...form, drift_cron: driftCron }, `/admin/locations/${locationId}/edit`);
    const scheduleNow = async () => (await database.db('locations').where({ id: locationId }).first()).drift_cron;

    const bad = await save('every 6 hours');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('Enter a cron expression of 5 fields (UTC)');
    for (const refused of ['0 0 */6 * * *', '61 * * * *']) expect((await save(refused)).status).toBe(422);

    expect((await save(' 0  */6 * * * ')).status).toBe(303);
    expect(await scheduleNow()).toBe('0 */6 * * *');
    expect((await save('')).status).toBe(303);
    expect(await scheduleNow()).toBeNull();
  });
});
