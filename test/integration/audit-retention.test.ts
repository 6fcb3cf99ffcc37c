import { spawn } from 'node:child_process';
import path from 'node:path';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JOB_SCHEMA } from '../../src/platform/db/job-queue';
import { createExpiredSessionsQueries } from '../../src/auth/sessions.queries';
import { createRetentionQueries } from '../../src/sync/data/retention.queries';
import { RETENTION_QUEUE, RetentionService, type RetentionReport } from '../../src/sync/retention.service';
import { buildTestApp, TEST_ADMIN, TEST_SECRETS, type TestApp } from '../support/app';
import { signedInAgent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { seedRunHistory } from '../support/run-history';
import { addLocation } from '../support/sync-fixtures';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ITEMS = { new: 2, update: 3, deactivate: 1, rejected: 1 };
const ITEMS_PER_RUN = ITEMS.new + ITEMS.update + ITEMS.deactivate + ITEMS.rejected;
const UNCHANGED = 40;

let database: TestDatabase;
let t: TestApp;
let adminId: number;
/** Runs of the seeded history, by what retention should do with them. */
const seeded = {
  /** Created before the retention window and over: their details go. */
  old: [] as number[],
  /** Newer than the window: untouched. */
  recent: [] as number[],
  /** Old, completed, changed users, never reverted: it can still be reverted, so it keeps everything. */
  revertible: 0,
  /** Old and completed, but reverted (by `revertOfIt`): its details go; the revert itself can still be reverted. */
  reverted: 0,
  revertOfIt: 0,
};

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run sync -- …` as a real process on the test database. */
function syncCli(...args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sync.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: database.url, ...TEST_SECRETS, AUDIT_RETENTION_DAYS: '365' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** Everything retention may change, per run: its row's counts and details, and its items. */
async function state() {
  const result = await database.db.raw(
    `SELECT r.id, r.status, r.run_type, r.previewed_by, r.executed_by, r.created_at, r.executed_at, r.updated_at,
            r.new_count, r.update_count, r.deactivate_count, r.unchanged_count, r.rejected_count, r.remote_count,
            coalesce(cardinality(r.unchanged_user_ids), -1) AS array_length, r.details_purged_at,
            (SELECT count(*)::int FROM sync_run_items i WHERE i.sync_run_id = r.id) AS items
     FROM sync_runs r ORDER BY r.id`,
  );
  return new Map((result.rows as Array<Record<string, unknown> & { id: number }>).map((row) => [row.id, row]));
}

const sessionCount = async () => Number((await database.db('session').count({ n: '*' }))[0]!.n);

beforeAll(async () => {
  database = await createTestDatabase();
  t = await buildTestApp(database, { AUDIT_RETENTION_DAYS: '365' });
  adminId = (await database.db('users').where({ email: TEST_ADMIN.email }).first()).id;
  const devId = await addLocation(database.db, 'DEV', 'http://127.0.0.1:9');
  const history = { locationId: devId, adminId, items: ITEMS, unchanged: UNCHANGED };
  // A year and a month of daily drift checks (previews never executed), and a no-change sync every day.
  seeded.old.push(...(await seedRunHistory(database.db, { ...history, fromDay: 400, toDay: 366, runType: 'drift', status: 'expired' })));
  seeded.recent.push(...(await seedRunHistory(database.db, { ...history, fromDay: 365 - 1, toDay: 1, runType: 'drift', status: 'expired' })));
  seeded.old.push(
    ...(await seedRunHistory(database.db, {
      ...history,
      fromDay: 400,
      toDay: 366,
      runType: 'sync',
      status: 'no_change',
      items: { ...ITEMS, new: 0, update: 0, deactivate: 0 },
    })),
  );
  seeded.revertible = (await seedRunHistory(database.db, { ...history, fromDay: 380, toDay: 380, runType: 'sync', status: 'completed' }))[0]!;
  seeded.reverted = (await seedRunHistory(database.db, { ...history, fromDay: 390, toDay: 390, runType: 'sync', status: 'completed' }))[0]!;
  seeded.old.push(seeded.reverted);
  // Its revert (completed, with its own plan) may itself be reverted: it is kept, like any revertible run.
  const [revert] = await database
    .db('sync_runs')
    .insert({
      location_id: devId,
      run_type: 'revert',
      reverts_run_id: seeded.reverted,
      status: 'completed',
      previewed_by: adminId,
      executed_by: adminId,
      update_count: 1,
      created_at: database.db.raw(`now() - interval '389 days'`),
      executed_at: database.db.raw(`now() - interval '389 days'`),
    })
    .returning('id');
  seeded.revertOfIt = revert.id;
  await database
    .db('sync_run_items')
    .insert({ sync_run_id: seeded.revertOfIt, kind: 'update', user_id: 501, email: 'user1@dev.test', before: {}, after: {} });
  await database.db('session').insert([
    { sid: 'expired-1', sess: JSON.stringify({ cookie: {} }), expire: database.db.raw(`now() - interval '1 day'`) },
    { sid: 'expired-2', sess: JSON.stringify({ cookie: {} }), expire: database.db.raw(`now() - interval '1 minute'`) },
    { sid: 'live', sess: JSON.stringify({ cookie: {} }), expire: database.db.raw(`now() + interval '1 hour'`) },
  ]);
});
afterAll(async () => {
  await t.close();
  await database.drop();
});

describe('audit retention (AUDIT_RETENTION_DAYS=365)', () => {
  it('when run with --dry-run, then it counts the old runs, items, arrays and expired sessions, and changes nothing', async () => {
    const before = await state();
    const sessionsBefore = await sessionCount();
    const result = await syncCli('purge', '--dry-run', '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as RetentionReport & { dryRun: boolean };
    const oldDrift = 400 - 366 + 1;
    expect(report).toMatchObject({
      dryRun: true,
      retentionDays: 365,
      runs: seeded.old.length,
      // Drift checks list every kind; no-change runs only their rejected rows; the reverted run every kind.
      items: oldDrift * ITEMS_PER_RUN + oldDrift * ITEMS.rejected + ITEMS_PER_RUN,
      arrays: seeded.old.length,
      keptRevertible: 2,
      sessions: 2,
    });
    expect(await state()).toEqual(before);
    expect(await sessionCount()).toBe(sessionsBefore);

    const text = await syncCli('purge', '--dry-run');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Would remove: the details of ${seeded.old.length} runs`);
    expect(text.stdout).toContain('Kept: 2 older runs that can still be reverted.');
    expect(await state()).toEqual(before);
  });

  it('when purged, then old runs keep their summary rows and lose items and arrays; the revertible run and newer runs are untouched', async () => {
    const before = await state();
    const planned = await t.container.services.retention.plan();
    const report = await t.container.services.retention.purge('schedule');
    expect(report).toMatchObject({ runs: planned.runs, items: planned.items, arrays: planned.arrays, sessions: 2, keptRevertible: 2 });
    const after = await state();

    expect([...after.keys()]).toEqual([...before.keys()]);
    const summary = ({ items: _i, array_length: _a, details_purged_at: _d, ...row }: Record<string, unknown>) => row;
    for (const id of seeded.old) {
      const row = after.get(id)!;
      expect(summary(row), `run ${id}`).toEqual(summary(before.get(id)!));
      expect(row.items, `run ${id}`).toBe(0);
      expect(row.array_length, `run ${id}`).toBe(-1);
      expect(row.details_purged_at, `run ${id}`).toBeInstanceOf(Date);
    }
    for (const id of [...seeded.recent, seeded.revertible, seeded.revertOfIt]) expect(after.get(id), `run ${id}`).toEqual(before.get(id));
    expect(after.get(seeded.revertible)!.items).toBe(ITEMS_PER_RUN);
    expect((await t.container.services.syncRevert.status(seeded.revertible)).revertable).toBe(true);

    expect(await database.db('session').pluck('sid')).toEqual(['live']);
    const line = t.logs.entries().find((e) => e.msg === 'audit retention purge');
    expect(line).toMatchObject({
      via: 'schedule',
      retentionDays: 365,
      runs: planned.runs,
      items: planned.items,
      arrays: planned.arrays,
      sessions: 2,
      keptRevertible: 2,
    });
  });

  it('when a purged run is opened, then its page keeps the counts and says the details were removed by retention', async () => {
    const agent = await signedInAgent(t.app);
    const purged = await agent.get(`/admin/users/sync/${seeded.old[0]}`);
    expect(purged.status).toBe(200);
    expect(purged.text).toContain('were removed by audit retention on');
    expect(purged.text).toMatch(/data-count="update">3</);
    expect(purged.text).not.toContain('id="section-update"');
    expect(purged.text).not.toContain('export.csv');

    const kept = await agent.get(`/admin/users/sync/${seeded.recent[0]}`);
    expect(kept.text).not.toContain('were removed by audit retention');
    expect(kept.text).toContain('id="section-update"');
  });

  it('when purged again from the CLI (no --as), then there is nothing left to remove', async () => {
    const before = await state();
    const result = await syncCli('purge');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Removed: the details of 0 runs (0 items, 0 unchanged-id arrays; their summaries stay), 0 expired sessions.');
    expect(await state()).toEqual(before);
  });

  it('when the batches are smaller than the work, then it loops until every old run is done, none twice', async () => {
    const locationId = await addLocation(database.db, 'BATCH', 'http://127.0.0.1:9');
    const ids = await seedRunHistory(database.db, {
      locationId,
      adminId,
      items: ITEMS,
      unchanged: UNCHANGED,
      fromDay: 420,
      toDay: 400,
      runType: 'drift',
      status: 'expired',
    });
    const retention = new RetentionService({
      queries: createRetentionQueries(database.db),
      sessions: createExpiredSessionsQueries(database.db),
      settings: { auditDays: 365 },
      queue: undefined as never,
      timeZone: 'UTC',
      logger: t.logs.logger,
      // Several run batches; each batch's items a multiple of the item batch: full deletes, then an empty one.
      batch: { runs: 4, items: ITEMS_PER_RUN, sessions: 1 },
    });
    const report = await retention.purge('cli');
    expect(report).toMatchObject({ runs: ids.length, items: ids.length * ITEMS_PER_RUN, arrays: ids.length });
    const after = await state();
    for (const id of ids) expect(after.get(id), `run ${id}`).toMatchObject({ items: 0, array_length: -1 });
  });

  it('when the instance starts, then the purge is scheduled daily, and a job on its queue runs it', async () => {
    await t.container.services.retention.start();
    const schedule = await database.db(`${JOB_SCHEMA}.schedule`).where({ name: RETENTION_QUEUE }).first();
    expect(schedule).toMatchObject({ cron: '30 2 * * *', timezone: 'Asia/Jakarta' });

    // What the schedule does at 02:30, sent now by a pg-boss client of its own.
    const boss = new PgBoss({ connectionString: database.url, schema: JOB_SCHEMA, supervise: false, schedule: false });
    await boss.start();
    try {
      await boss.send(RETENTION_QUEUE, {});
    } finally {
      await boss.stop({ graceful: false });
    }
    const purges = () => t.logs.entries().filter((e) => e.msg === 'audit retention purge');
    await vi.waitFor(() => expect(purges().filter((e) => e.via === 'schedule')).toHaveLength(2), { timeout: 20_000, interval: 100 });
    expect(purges().at(-1)).toMatchObject({ via: 'schedule', runs: 0 });
  });
});
