import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index';
import { startInstance, type RunningInstance } from '../../src/boot';
import { loadConfig } from '../../src/platform/config';
import { migrateLatest } from '../../src/platform/db/migrate';
import { TEST_SECRETS } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { captureLogs } from '../support/logs';

const FUTURE = '2099_01_01_000000_added_by_a_newer_version';
const last = migrations.at(-1)![0];

let database: TestDatabase | undefined;
let instance: RunningInstance | undefined;
afterEach(async () => {
  await instance?.stop();
  instance = undefined;
  await database?.drop();
  database = undefined;
});

function start(migrateOnStart: '0' | '1') {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database!.url,
    ...TEST_SECRETS,
    PORT: '0',
    WORKERS: '0',
    MIGRATE_ON_START: migrateOnStart,
  });
  const logs = captureLogs();
  return { logs, started: startInstance({ config, logger: logs.logger, databaseUrl: database!.url, createFirstAdmin: false }) };
}

/** What a newer version's `npm run migrate` leaves: one more applied migration, recorded as additive or not. */
async function migratedByANewerVersion(additive: boolean) {
  await database!.db('knex_migrations').insert({ name: FUTURE, batch: 2, migration_time: new Date() });
  await database!.db('sinkron_migrations').insert({ name: FUTURE, additive });
}

describe('with MIGRATE_ON_START=0', () => {
  it('refuses a schema that is behind, naming the command to run, and migrates nothing', async () => {
    database = await createTestDatabase();
    await database.db('knex_migrations').where({ name: last }).del();
    await database.db.schema.dropTable('sinkron_migrations');

    await expect(start('0').started).rejects.toThrow(
      `The database schema is behind this version of Sinkron: 1 migration(s) pending (${last}). Run \`npm run migrate\` (with the database owner role) first.`,
    );
    expect(await database.db.schema.hasTable('sinkron_migrations')).toBe(false);
  });

  it("refuses a database without the job queue's tables, naming the command to run", async () => {
    database = await createTestDatabase({ migrated: false });
    await migrateLatest(database.db);
    await expect(start('0').started).rejects.toThrow(/The job queue's tables are missing or out of date \(.*\): run `npm run migrate`/);
    expect(await database.db.raw(`SELECT to_regnamespace('pgboss') AS schema`).then((r) => r.rows[0].schema)).toBeNull();
  });
});

describe.each(['0', '1'] as const)('with MIGRATE_ON_START=%s, on a schema a newer version migrated', (migrateOnStart) => {
  it('starts and is ready when the extra migration is marked additive', async () => {
    database = await createTestDatabase();
    await migratedByANewerVersion(true);
    const { logs, started } = start(migrateOnStart);
    instance = await started;
    expect((await request(instance.url).get('/readyz')).body).toEqual({ status: 'ready' });
    expect(logs.entries().find((e) => e.msg === 'the schema has additive migrations of a newer version: running on it')).toMatchObject({
      migrations: [FUTURE],
    });
  });

  it('refuses to start, naming the migration, when it is not marked additive', async () => {
    database = await createTestDatabase();
    await migratedByANewerVersion(false);
    const failure = await start(migrateOnStart).started.catch((error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain(
      `The database schema is newer than this version of Sinkron: it has 1 migration(s) this version does not know, not marked additive (${FUTURE})`,
    );
    expect((failure as Error).message).not.toContain('The migration directory is corrupt');
  });
});

describe('with MIGRATE_ON_START=1 (the default)', () => {
  it('applies the pending migrations at start, as before', async () => {
    database = await createTestDatabase();
    await database.db('knex_migrations').where({ name: last }).del();
    await database.db.schema.dropTable('sinkron_migrations');
    const { logs, started } = start('1');
    instance = await started;
    expect(logs.entries().find((e) => e.msg === 'migrations applied')).toMatchObject({ migrations: [last] });
    expect(await database.db.schema.hasTable('sinkron_migrations')).toBe(true);
  });

  it('refuses to start on migrations locked by a killed migrate, saying how to unlock them; a current schema starts all the same', async () => {
    database = await createTestDatabase();
    await database.db('knex_migrations_lock').update({ is_locked: 1 });
    instance = await start('1').started;
    await instance.stop();
    instance = undefined;

    await database.db('knex_migrations').where({ name: last }).del();
    await database.db.schema.dropTable('sinkron_migrations');
    await expect(start('1').started).rejects.toThrow(
      'The migrations are locked (knex_migrations_lock.is_locked = 1): a migration is running, or one was stopped while it ran. ' +
        'Wait for a running `npm run migrate` to end; when none runs, free the lock with `npm run migrate -- unlock`.',
    );
  });
});
