import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer } from '../../src/platform/metrics';
import { findFreePort } from '../../src/platform/free-port';
import { buildTestApp, TEST_ADMIN, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, insertUsers } from '../support/sync-fixtures';

const TOKEN = 'metrics-token-0123456789abcdef';

let database: TestDatabase;
let t: TestApp;
let remote: LaravelServer;
let devId: number;
let downId: number;

beforeAll(async () => {
  database = await createTestDatabase();
  remote = await startLaravelServer({ users: [{ id: 1, name: 'Keep One', email: 'keep1@dev.test', role: 'vendor', is_active: true }] });
  t = await buildTestApp(database, { ...REMOTE_ENV, METRICS_TOKEN: TOKEN, REMOTE_RETRIES: '0' });
  devId = await addLocation(database.db, 'DEV', remote.url);
  downId = await addLocation(database.db, 'DOWN', 'http://127.0.0.1:9');
  await insertUsers(database.db, devId, [
    { email: 'keep1@dev.test', name: 'Old Name', role: 'vendor', remote_id: '1' },
    { email: 'gone@dev.test', name: 'Gone', role: 'vendor', remote_id: '2' },
  ]);
});
afterAll(async () => {
  await t.close();
  await remote.close();
  await database.drop();
});

/** The value of one sample line (`name{labels} value`) of a Prometheus text page. */
function sample(page: string, series: string): number | undefined {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const scrape = async () => {
  const response = await request(t.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
  expect(response.status).toBe(200);
  return response.text;
};

describe('/metrics', () => {
  it('when asked without the token, or with a wrong one, then it refuses and shows nothing', async () => {
    for (const header of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const call = request(t.app).get('/metrics');
      const response = await (header ? call.set('Authorization', header) : call);
      expect(response.status, header).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(response.text).not.toContain('sinkron_');
    }
  });

  it('when no METRICS_TOKEN is set, then the app has no /metrics at all', async () => {
    const other = await buildTestApp(database, REMOTE_ENV);
    try {
      const response = await request(other.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
      expect(response.status).toBe(404);
      expect(response.text).not.toContain('sinkron_');
    } finally {
      await other.close();
    }
  });

  it('when nothing has failed yet, then every location has its failure series at 0, so that the first failure is a rise', async () => {
    const page = await scrape();
    for (const location of ['DEV', 'DOWN']) {
      for (const cause of ['auth', 'timeout', 'unreachable', 'protocol', 'too_large', 'http', 'refused_url']) {
        expect(sample(page, `sinkron_remote_request_failures_total{location="${location}",cause="${cause}"}`), `${location} ${cause}`).toBe(0);
      }
      for (const runType of ['sync', 'drift', 'revert']) {
        expect(sample(page, `sinkron_sync_runs{location="${location}",run_type="${runType}",status="failed"}`), `${location} ${runType}`).toBe(0);
      }
    }
  });

  it('when syncs ran, then the runs, durations, rows, times and remote failures are reported', async () => {
    const admin = await database.db('users').where({ email: TEST_ADMIN.email }).first();
    const { userSync } = t.container.services;
    const { runId } = await userSync.preview(devId, admin.id);
    const executed = await userSync.execute(runId, admin.id);
    expect(executed.kind).toBe('completed');
    expect((await userSync.preview(downId, admin.id)).status).toBe('failed');
    // A drift check as another instance's job would record it: the metrics read it from the database.
    const [{ id: locationId }] = await database.db('locations').where({ code: 'DEV' }).select('id');
    await database.db('sync_runs').insert({
      location_id: locationId,
      run_type: 'drift',
      status: 'previewed',
      new_count: 3,
      update_count: 1,
      deactivate_count: 40,
      unchanged_count: 5,
      guard_required: true,
      expires_at: database.db.raw("now() + interval '1 hour'"),
    });

    const page = await scrape();
    expect(page).toContain('# TYPE sinkron_sync_runs gauge');
    expect(sample(page, 'sinkron_sync_runs{location="DEV",run_type="sync",status="completed"}')).toBe(1);
    expect(sample(page, 'sinkron_sync_runs{location="DOWN",run_type="sync",status="failed"}')).toBe(1);
    expect(sample(page, 'sinkron_sync_runs{location="DEV",run_type="drift",status="previewed"}')).toBe(1);
    const lastSuccess = sample(page, 'sinkron_sync_last_success_timestamp_seconds{location="DEV"}')!;
    expect(Math.abs(lastSuccess - Date.now() / 1000)).toBeLessThan(120);
    expect(sample(page, 'sinkron_sync_last_success_timestamp_seconds{location="DOWN"}')).toBe(0);
    expect(sample(page, 'sinkron_sync_last_drift_check_timestamp_seconds{location="DEV"}')).toBeGreaterThan(lastSuccess - 120);
    expect(sample(page, 'sinkron_sync_latest_plan_rows{location="DEV",run_type="sync",category="update"}')).toBe(1);
    expect(sample(page, 'sinkron_sync_latest_plan_rows{location="DEV",run_type="sync",category="deactivate"}')).toBe(1);
    expect(sample(page, 'sinkron_sync_latest_plan_rows{location="DEV",run_type="drift",category="deactivate"}')).toBe(40);
    expect(sample(page, 'sinkron_sync_latest_plan_guard_required{location="DEV",run_type="drift"}')).toBe(1);
    expect(sample(page, 'sinkron_sync_latest_plan_guard_required{location="DEV",run_type="sync"}')).toBe(0);
    expect(sample(page, 'sinkron_sync_preview_duration_seconds_count{location="DEV",outcome="previewed"}')).toBe(1);
    expect(sample(page, 'sinkron_sync_preview_duration_seconds_count{location="DOWN",outcome="failed"}')).toBe(1);
    expect(sample(page, 'sinkron_sync_execute_duration_seconds_count{outcome="completed"}')).toBe(1);
    expect(sample(page, 'sinkron_remote_request_failures_total{location="DOWN",cause="unreachable"}')).toBe(1);
    expect(sample(page, 'sinkron_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(page).toContain('sinkron_nodejs_heap_size_used_bytes');
  });

  it('when METRICS_PORT is used, then /metrics answers without a token on 127.0.0.1 only', async () => {
    const port = await findFreePort();
    const server = await startMetricsServer(t.container.metrics, t.container.logger, port);
    try {
      expect(server.url).toBe(`http://127.0.0.1:${port}/metrics`);
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('sinkron_sync_runs{location="DEV"');
      expect((await fetch(`http://127.0.0.1:${port}/admin/users`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
