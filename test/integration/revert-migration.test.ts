import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLatest, migratorConfig } from '../../src/platform/db/migrate';
import { migrations } from '../../migrations/index';
import { createTestDatabase, type TestDatabase } from '../support/database';

const REVERT_MIGRATION = '2026_11_30_190000_revert_sync_runs';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
  await migrateLatest(database.db);
});
afterAll(async () => {
  await database.drop();
});

/** Rolls back the migrations after the revert's one, then the revert's own, one at a time. */
async function rollBackThroughRevertMigration() {
  const later = migrations.length - 1 - migrations.findIndex(([name]) => name === REVERT_MIGRATION);
  for (let i = 0; i <= later; i++) await database.db.migrate.down(migratorConfig);
}

describe('the revert migration', () => {
  it('rolls back with reverts and conflicts stored: their runs go, the other runs stay, the canonical lists stay', async () => {
    const [location] = await database.db('locations').insert({ code: 'DEV', name: 'Dev' }).returning('id');
    const [sync] = await database.db('sync_runs').insert({ location_id: location.id, status: 'completed', new_count: 1 }).returning('id');
    await database.db('sync_run_items').insert({ sync_run_id: sync.id, kind: 'new', email: 'a@dev.test', after: { email: 'a@dev.test' } });
    const [revert] = await database
      .db('sync_runs')
      .insert({ location_id: location.id, status: 'previewed', run_type: 'revert', reverts_run_id: sync.id, conflict_count: 1 })
      .returning('id');
    await database
      .db('sync_run_items')
      .insert({ sync_run_id: revert.id, kind: 'conflict', email: 'a@dev.test', reason: 'changed after #1 was executed' });

    await rollBackThroughRevertMigration();

    expect(await database.db('sync_runs').pluck('id')).toEqual([sync.id]);
    expect(await database.db('sync_run_items').pluck('kind')).toEqual(['new']);
    expect(await database.db.schema.hasColumn('sync_runs', 'reverts_run_id')).toBe(false);
    expect(await database.db.schema.hasColumn('sync_runs', 'conflict_count')).toBe(false);
    // The kind list is still the one the earlier migrations (issue 14's 'linked') need.
    await database.db('sync_run_items').insert({ sync_run_id: sync.id, kind: 'linked', email: 'a@dev.test' });
    await expect(database.db('sync_run_items').insert({ sync_run_id: sync.id, kind: 'other' })).rejects.toThrow(/sync_run_items_kind_check/);

    await migrateLatest(database.db);
    expect(await database.db.schema.hasColumn('sync_runs', 'reverts_run_id')).toBe(true);
    await database.db('sync_run_items').insert({ sync_run_id: sync.id, kind: 'conflict' });
  });
});
