import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { int4ArrayParameter } from '../../src/sync/data/int-array-parameter';
import { createTestDatabase, type TestDatabase } from '../support/database';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const roundTrip = async (values: Int32Array) =>
  ((await database.db.raw('SELECT ?::int[] AS ids', [int4ArrayParameter(values)])).rows[0] as { ids: number[] }).ids;

describe('int4ArrayParameter: integers as one binary int[] parameter', () => {
  it('reaches PostgreSQL as the same integers in the same order, the extremes and negatives included', async () => {
    const values = Int32Array.from([1, 7, 2_147_483_647, -2_147_483_648, 0, -5, 42]);
    expect(await roundTrip(values)).toEqual([...values]);
  });

  it('gives an empty array for no integers', async () => {
    expect(await roundTrip(new Int32Array(0))).toEqual([]);
  });

  it('carries a long list whole', async () => {
    const values = Int32Array.from({ length: 250_000 }, (_, i) => i * 3 + 1);
    const ids = await roundTrip(values);
    expect(ids).toHaveLength(250_000);
    expect(ids[0]).toBe(1);
    expect(ids.at(-1)).toBe(249_999 * 3 + 1);
  });
});
