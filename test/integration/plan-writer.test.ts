import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaging, PlanWriter } from '../../src/sync/data/plan.queries';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { addLocation, insertUsers, itemsOf, runRow } from '../support/sync-fixtures';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

describe('the plan statement', () => {
  it('when a staged row turns out equal to its local user, then it counts and is listed as unchanged, not as an update', async () => {
    // The local index stages a row whenever its COPY texts differ; the statement compares the values.
    const locationId = await addLocation(database.db, 'PLAN', null);
    await insertUsers(database.db, locationId, [
      { email: 'same@plan.test', name: 'Same', role: 'vendor', remote_id: '1' },
      { email: 'renamed@plan.test', name: 'Old', role: 'vendor', remote_id: '2' },
    ]);
    const ids = Object.fromEntries((await database.db('users').where({ location_id: locationId })).map((u) => [u.email, u.id as number]));
    const [{ id: runId }] = await database.db('sync_runs').insert({ location_id: locationId, status: 'previewed' }).returning('id');

    const counts = await database.db.transaction(async (trx) => {
      await createStaging(trx);
      await trx('sync_staging').insert([
        {
          email: 'same@plan.test',
          name: 'Same',
          role: 'vendor',
          remote_id: '1',
          is_active: true,
          page: 1,
          position: 0,
          user_id: ids['same@plan.test'],
        },
        {
          email: 'renamed@plan.test',
          name: 'New',
          role: 'vendor',
          remote_id: '2',
          is_active: true,
          page: 1,
          position: 1,
          user_id: ids['renamed@plan.test'],
        },
      ]);
      return new PlanWriter(trx, runId, 'TEST').finish({
        remoteUserCount: 2,
        possibleDuplicates: [],
        unchangedUserIds: new Int32Array(0),
        localActiveCount: 2,
      });
    });

    expect(counts).toMatchObject({ newCount: 0, updateCount: 1, deactivateCount: 0, unchangedCount: 1, rejectedCount: 0 });
    expect((await itemsOf(database.db, runId)).map((i) => [i.kind, i.email])).toEqual([['update', 'renamed@plan.test']]);
    expect((await runRow(database.db, runId)).unchanged_user_ids).toEqual([ids['same@plan.test']]);
  });
});
