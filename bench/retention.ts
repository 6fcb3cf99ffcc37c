/**
 * `npx tsx bench/retention.ts`: what a daily sync of a 5,000-user location adds to the audit tables, and
 * how long audit retention takes on a seeded year of such runs (the figures of DEPLOYMENT_INSTRUCTIONS.md,
 * "Retention"). On DATABASE_URL (a scratch database: it is filled and left so) or an embedded cluster of
 * its own. Options: --users 5000 --locations 10 --changes 50 (updated users per sync) --days 365.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { buildContainer } from '../src/container';
import { loadConfig } from '../src/platform/config';
import { startEmbeddedPostgres, type EmbeddedCluster } from '../src/platform/db/embedded-postgres';
import { findFreePort } from '../src/platform/free-port';
import { createDb, type Knex } from '../src/platform/db/knex';
import { migrateLatest } from '../src/platform/db/migrate';
import { DEFAULT_REMOTE_CREDENTIALS, startLaravelServer } from '../test/support/laravel-server';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '5000' },
    locations: { type: 'string', default: '10' },
    changes: { type: 'string', default: '50' },
    days: { type: 'string', default: '365' },
  },
});
const USERS = Number(values.users);
const LOCATIONS = Number(values.locations);
const CHANGES = Number(values.changes);
const DAYS = Number(values.days);
const NEW = Math.ceil(CHANGES / 5);
const GONE = Math.ceil(CHANGES / 10);

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const relationBytes = async (db: Knex, table: string) => Number((await db.raw('SELECT pg_total_relation_size(?::regclass) AS b', [table])).rows[0].b);

async function main() {
  let cluster: EmbeddedCluster | undefined;
  let dir: string | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sinkron-retention-'));
    cluster = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: await findFreePort(), persistent: false });
    await cluster.createDatabase('sinkron_retention');
    databaseUrl = cluster.urlFor('sinkron_retention');
  }
  const db = createDb(databaseUrl);
  const remoteUsers = Array.from({ length: USERS }, (_, i) => ({
    id: i + 1,
    name: `Person ${i + 1}`,
    email: `person${i + 1}@dev.test`,
    role: 'vendor',
    is_active: true,
  }));
  const remote = await startLaravelServer({ users: remoteUsers, defaultPerPage: 1000 });
  try {
    await migrateLatest(db);
    const credentials = DEFAULT_REMOTE_CREDENTIALS;
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      SESSION_SECRET: 'bench-session-secret-0123456789-abcdefghijk',
      JWT_SECRET: 'bench-jwt-secret-0123456789-abcdefghijklmnopq',
      EXTERNAL_API_EMAIL: credentials.email,
      EXTERNAL_API_PASSWORD: credentials.password,
      REMOTE_ALLOWED_HOSTS: '127.0.0.1',
      AUDIT_RETENTION_DAYS: String(DAYS),
    });
    // The purge's log line is part of the output.
    const logger = pino({ level: 'info', base: { app: 'sinkron' } });
    const container = await buildContainer({ config, db, logger });
    const admin = await container.services.auth.createOrResetAccount('bench@sinkron.test', 'bench admin password 0123', { role: 'admin' });
    const [location] = await db('locations').insert({ code: 'DEV', name: 'Dev', online_url: remote.url }).returning('id');
    // The local copy of the day before: CHANGES users renamed on the remote since, NEW users not yet here,
    // GONE users no longer on the remote.
    await db.raw(
      `INSERT INTO users (location_id, email, name, role, is_active, remote_id)
       SELECT ?::int, 'person' || n || '@dev.test', CASE WHEN n <= ?::int THEN 'Old Name ' || n ELSE 'Person ' || n END, 'vendor', true, n::text
       FROM generate_series(1, ?::int) n
       UNION ALL
       SELECT ?::int, 'gone' || n || '@dev.test', 'Gone ' || n, 'vendor', true, (1000000 + n)::text FROM generate_series(1, ?::int) n`,
      [location.id, CHANGES, USERS - NEW, location.id, GONE],
    );

    const { runId } = await container.services.userSync.preview(location.id, admin.id);
    const executed = await container.services.userSync.execute(runId, admin.id, 'DEV');
    if (executed.kind !== 'completed') throw new Error(`the sample sync ended ${executed.kind}`);
    const sample = (
      await db.raw(
        `SELECT r.new_count, r.update_count, r.deactivate_count, r.unchanged_count, pg_column_size(r.unchanged_user_ids) AS array_bytes,
                pg_column_size(r.*) AS row_bytes,
                (SELECT count(*) FROM sync_run_items i WHERE i.sync_run_id = r.id)::int AS items,
                (SELECT sum(pg_column_size(i.*)) FROM sync_run_items i WHERE i.sync_run_id = r.id)::int AS item_bytes
         FROM sync_runs r WHERE r.id = ?`,
        [runId],
      )
    ).rows[0];
    console.log(
      `One daily sync of ${USERS} users (${sample.new_count} new, ${sample.update_count} updated, ${sample.deactivate_count} deactivated, ${sample.unchanged_count} unchanged):`,
    );
    console.log(`  items: ${sample.items} rows, ${kb(sample.item_bytes)} (pg_column_size of the rows)`);
    console.log(`  unchanged-id array: ${kb(sample.array_bytes)} (pg_column_size); the whole run row ${kb(sample.row_bytes)}`);

    // The seeded history: for each location and day, the sample sync (completed, never reverted: it can
    // still be reverted) and a drift check of the same size (a report never executed). DAYS more days of
    // it lie before the retention window, the purge's work.
    const seedStarted = performance.now();
    await db.raw(
      `INSERT INTO sync_runs (location_id, run_type, status, previewed_by, executed_by, remote_count, local_active_count, new_count,
                              update_count, deactivate_count, unchanged_count, expires_at, executed_at, created_at, updated_at, unchanged_user_ids)
       SELECT s.location_id, k.run_type, k.status, s.previewed_by, CASE WHEN k.status = 'completed' THEN s.executed_by END,
              s.remote_count, s.local_active_count, s.new_count, s.update_count, s.deactivate_count, s.unchanged_count,
              t.at + interval '30 minutes', CASE WHEN k.status = 'completed' THEN t.at + interval '2 minutes' END, t.at, t.at, s.unchanged_user_ids
       FROM sync_runs s
       CROSS JOIN generate_series(1, ?::int) AS loc
       CROSS JOIN generate_series(1, ?::int) AS d
       CROSS JOIN (VALUES ('sync', 'completed'), ('drift', 'expired')) AS k(run_type, status)
       CROSS JOIN LATERAL (SELECT now() - make_interval(days => d, mins => loc) AS at) t
       WHERE s.id = ?`,
      [LOCATIONS, 2 * DAYS, runId],
    );
    await db.raw(
      `INSERT INTO sync_run_items (sync_run_id, kind, user_id, email, before, after, user_updated_at, reason, excerpt, remote_page)
       SELECT r.id, i.kind, i.user_id, i.email, i.before, i.after, i.user_updated_at, i.reason, i.excerpt, i.remote_page
       FROM sync_runs r CROSS JOIN sync_run_items i
       WHERE r.id <> ? AND i.sync_run_id = ?`,
      [runId, runId],
    );
    await db.raw('VACUUM ANALYZE sync_runs, sync_run_items');
    const seeded = (await db.raw('SELECT count(*)::int AS runs, (SELECT count(*) FROM sync_run_items)::int AS items FROM sync_runs')).rows[0];
    const itemsBytes = await relationBytes(db, 'sync_run_items');
    const runsBytes = await relationBytes(db, 'sync_runs');
    console.log(`Seeded ${seeded.runs} runs, ${seeded.items} items in ${Math.round((performance.now() - seedStarted) / 1000)} s`);
    // On disk (pg_total_relation_size: table, TOAST and indexes), per run of the seeded history.
    const perRun = { items: itemsBytes / seeded.runs, run: runsBytes / seeded.runs };
    console.log(
      `  on disk: sync_run_items ${mb(itemsBytes)} (${kb(perRun.items)} a run), sync_runs with the arrays ${mb(runsBytes)} (${kb(perRun.run)} a run)`,
    );
    const daily = (perRun.items + perRun.run) * LOCATIONS;
    console.log(`  ${LOCATIONS} locations synced daily: ${mb(daily)} a day, ${mb(daily * 365)} a year (twice that with a daily drift check each)`);

    const { retention } = container.services;
    console.log(`Dry run: ${JSON.stringify(await retention.plan())}`);
    const started = performance.now();
    const report = await retention.purge('cli');
    logger.flush();
    console.log(
      `Purge: ${((performance.now() - started) / 1000).toFixed(1)} s for ${report.runs} runs, ${report.items} items, ${report.arrays} arrays`,
    );
    await db.raw('VACUUM ANALYZE sync_runs, sync_run_items');
    console.log(
      `After (vacuumed; the space is reused, not returned): items ${mb(await relationBytes(db, 'sync_run_items'))}, runs ${mb(await relationBytes(db, 'sync_runs'))}`,
    );
  } finally {
    await remote.close();
    await db.destroy();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
