import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_STATUSES, RUNNING_STATUSES } from '../../src/sync/run-lifecycle';
import { createTestDatabase, type TestDatabase } from '../support/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

/** The quoted values of an `IN (...)` or `= ANY (ARRAY[...])` in a constraint's or index's definition. */
const listedIn = (definition: string) => [...definition.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!).sort();

describe('the run lifecycle in the schema', () => {
  it('when the database checks a run status, then it allows exactly the lifecycle statuses', async () => {
    const result = await database.db.raw(
      `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conname = 'sync_runs_status_check'`,
    );
    expect(listedIn(result.rows[0].definition as string)).toEqual([...RUN_STATUSES].sort());
  });

  it('when the database keeps one running run per location, then "running" is the lifecycle running statuses', async () => {
    const result = await database.db.raw(`SELECT pg_get_indexdef('sync_runs_one_active_per_location'::regclass) AS definition`);
    expect(listedIn(result.rows[0].definition as string)).toEqual([...RUNNING_STATUSES].sort());
  });
});
