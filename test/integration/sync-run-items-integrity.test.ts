import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';

// The per-statement triggers that stand in for the foreign key from sync_run_items to sync_runs.
let database: TestDatabase;
let locationId: number;

beforeAll(async () => {
  database = await createTestDatabase();
  [{ id: locationId }] = await database.db('locations').insert({ code: 'ITEMS', name: 'Items' }).returning('id');
});
afterAll(async () => {
  await database.drop();
});

const newRun = async () => {
  const [{ id }] = await database.db('sync_runs').insert({ location_id: locationId, status: 'previewed' }).returning('id');
  return id as number;
};

const item = (runId: number, email: string) => ({ sync_run_id: runId, kind: 'new', email });

describe('sync run items', () => {
  it('are refused, all of the statement, when one names a run that does not exist', async () => {
    const runId = await newRun();
    const insert = database.db('sync_run_items').insert([item(runId, 'a@x'), item(runId + 1000, 'b@x')]);
    await expect(insert).rejects.toMatchObject({ code: '23503', message: expect.stringContaining(`sync run ${runId + 1000} does not exist`) });
    expect(await database.db('sync_run_items').where({ sync_run_id: runId })).toHaveLength(0);
  });

  it('cannot be moved to a run that does not exist', async () => {
    const runId = await newRun();
    await database.db('sync_run_items').insert(item(runId, 'c@x'));
    await expect(
      database
        .db('sync_run_items')
        .where({ sync_run_id: runId })
        .update({ sync_run_id: runId + 1000 }),
    ).rejects.toMatchObject({ code: '23503' });
  });

  it('go with their run when it is deleted, and only theirs', async () => {
    const [kept, deleted] = [await newRun(), await newRun()];
    await database.db('sync_run_items').insert([item(kept, 'd@x'), item(deleted, 'e@x'), item(deleted, 'f@x')]);
    await database.db('sync_runs').where({ id: deleted }).delete();
    expect(await database.db('sync_run_items').where({ sync_run_id: deleted })).toHaveLength(0);
    expect(await database.db('sync_run_items').where({ sync_run_id: kept }).pluck('email')).toEqual(['d@x']);
  });
});
