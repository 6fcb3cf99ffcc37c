import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLatest, migratorConfig } from '../../src/platform/db/migrate';
import { migrations } from '../../migrations/index';
import { createTestDatabase, type TestDatabase } from '../support/database';

const UNIQUE_PER_LOCATION = '2025_11_08_000000_modify_users_email_unique_constraint';
const PAIRED_CONFIRMATION = '2026_12_07_143000_bind_online_url_confirmation_to_code';
const before = (name: string) =>
  migrations.slice(
    0,
    migrations.findIndex(([n]) => n === name),
  );

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
});
afterAll(async () => {
  await database.drop();
});

async function indexNames(): Promise<string[]> {
  const result = await database.db.raw(`SELECT indexname FROM pg_indexes WHERE tablename = 'users' ORDER BY indexname`);
  return result.rows.map((r: { indexname: string }) => r.indexname);
}

describe('migrations', () => {
  it('apply from an empty database and roll back completely', async () => {
    const applied = await migrateLatest(database.db);
    expect(applied).toEqual(migrations.map(([name]) => name));
    expect(await indexNames()).toContain('users_location_email_unique');

    // Every down step (the operator's rollback stops at the baseline; see migrate-cli.test.ts).
    const [, rolledBack] = (await database.db.migrate.rollback(migratorConfig, true)) as [number, string[]];
    expect(rolledBack).toHaveLength(migrations.length);
    expect(await database.db.schema.hasTable('users')).toBe(false);
    expect(await database.db.schema.hasTable('locations')).toBe(false);
  });

  it('refuse to make emails unique per location while one location holds duplicates, listing them', async () => {
    for (const _ of before(UNIQUE_PER_LOCATION)) await database.db.migrate.up(migratorConfig);
    const [dev] = await database.db('locations').insert({ code: 'DEV', name: 'Dev' }).returning('id');
    // The old schema is case-sensitive, so these two coexist before the migration.
    await database.db('users').insert([
      { location_id: dev.id, email: 'Twice@Example.test', name: 'One' },
      { location_id: dev.id, email: 'twice@example.test', name: 'Two' },
    ]);

    await expect(database.db.migrate.up(migratorConfig)).rejects.toThrow(
      /1 email\(s\) appear more than once in the same location \(ignoring case\): location \d+: twice@example\.test \(user ids \d+, \d+\)/,
    );
    expect(await indexNames()).toContain('users_email_unique');
    expect(await indexNames()).not.toContain('users_location_email_unique');

    await database.db('users').where({ name: 'Two' }).del();
    await database.db.migrate.up(migratorConfig);
    expect(await indexNames()).toContain('users_location_email_unique');
  });

  it('allow one email on two locations after the change, and refuse to roll back over it', async () => {
    const [test] = await database.db('locations').insert({ code: 'TEST', name: 'Test' }).returning('id');
    const dev = await database.db('locations').where({ code: 'DEV' }).first();
    await database.db('users').insert([
      { location_id: dev.id, email: 'dev_vendor1@dkm', name: 'On dev' },
      { location_id: test.id, email: 'dev_vendor1@dkm', name: 'On test' },
    ]);
    await expect(database.db('users').insert({ location_id: dev.id, email: 'DEV_VENDOR1@dkm', name: 'Case twin' })).rejects.toThrow(
      /users_location_email_unique/,
    );

    await expect(database.db.migrate.down(migratorConfig)).rejects.toThrow(
      /Cannot roll back to one account per email: these emails exist more than once: dev_vendor1@dkm \(2 locations\)/,
    );
    expect(await indexNames()).toContain('users_location_email_unique');

    await database.db('users').where({ location_id: test.id }).del();
    await database.db.migrate.down(migratorConfig);
    expect(await indexNames()).toContain('users_email_unique');
  });

  it('carry a confirmed online URL over as the confirmed pairing of URL and code, and back to the boolean on rollback', async () => {
    const fresh = await createTestDatabase({ migrated: false });
    try {
      const { db } = fresh;
      for (const _ of before(PAIRED_CONFIRMATION)) await db.migrate.up(migratorConfig);
      await db('locations').insert([
        { code: 'KEPT', name: 'Kept', online_url: 'https://kept.example.com', online_url_confirmed: true },
        { code: 'PENDING', name: 'Pending', online_url: 'https://pending.example.com', online_url_confirmed: false },
        { code: 'NOURL', name: 'No URL', online_url: null, online_url_confirmed: true },
      ]);

      await db.migrate.up(migratorConfig);
      const after = await db('locations').orderBy('code').select('code', 'confirmed_online_url', 'confirmed_code');
      expect(after).toEqual([
        { code: 'KEPT', confirmed_online_url: 'https://kept.example.com', confirmed_code: 'KEPT' },
        { code: 'NOURL', confirmed_online_url: null, confirmed_code: null },
        { code: 'PENDING', confirmed_online_url: null, confirmed_code: null },
      ]);
      expect(await db.schema.hasColumn('locations', 'online_url_confirmed')).toBe(false);

      // A code taken over after the upgrade is not confirmed by the boolean either.
      await db('locations').insert({
        code: 'RENAMED',
        name: 'Renamed',
        online_url: 'https://renamed.example.com',
        confirmed_online_url: 'https://renamed.example.com',
        confirmed_code: 'OTHER',
      });
      await db.migrate.down(migratorConfig);
      const flags = await db('locations').orderBy('code').select('code', 'online_url_confirmed');
      expect(flags).toEqual([
        { code: 'KEPT', online_url_confirmed: true },
        { code: 'NOURL', online_url_confirmed: true },
        { code: 'PENDING', online_url_confirmed: false },
        { code: 'RENAMED', online_url_confirmed: false },
      ]);
      expect(await db.schema.hasColumn('locations', 'confirmed_code')).toBe(false);
    } finally {
      await fresh.drop();
    }
  });
});
