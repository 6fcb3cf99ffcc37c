import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageOfLocationUsers } from '../../src/api/users-page.queries';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { addLocation, insertUsers } from '../support/sync-fixtures';

let database: TestDatabase;
let devId: number;
let testId: number;

beforeAll(async () => {
  database = await createTestDatabase();
  devId = await addLocation(database.db, 'DEV', null);
  testId = await addLocation(database.db, 'TEST', null);
  await insertUsers(
    database.db,
    devId,
    Array.from({ length: 20 }, (_, i) => ({ email: `u${i}@dev.test`, name: `U ${i}` })),
  );
});
afterAll(async () => {
  await database.drop();
});

const idsOf = (dataJson: string) => (JSON.parse(dataJson) as Array<{ id: number }>).map((u) => u.id);
const ownIds = async (locationId: number) => (await database.db('users').where({ location_id: locationId }).orderBy('id').pluck('id')) as number[];

describe('pageOfLocationUsers: a page by number, by offset or from an earlier page’s end', () => {
  it('when the generation still holds, then the page starts after the remembered end instead of at the offset', async () => {
    const ids = await ownIds(devId);
    const first = await pageOfLocationUsers(database.db, devId, { offset: 0 }, 5);
    expect(first.generation).not.toBeNull();
    // A seek and an offset that disagree on purpose: the seek must win while its generation holds.
    const page = await pageOfLocationUsers(database.db, devId, { offset: 0, seek: { generation: first.generation!, afterId: ids[9]!, skip: 5 } }, 5);
    expect(idsOf(page.dataJson)).toEqual(ids.slice(15, 20));
    expect(page).toMatchObject({ rows: 5, lastId: ids[19], total: 20 });
  });

  it('when a user left the location since the end was remembered, then the seek is ignored and the offset counts', async () => {
    const before = await pageOfLocationUsers(database.db, devId, { offset: 5 }, 5);
    const ids = await ownIds(devId);
    await database.db('users').where({ id: ids[0] }).update({ location_id: testId });
    try {
      const stale = { generation: before.generation!, afterId: before.lastId!, skip: 0 };
      const page = await pageOfLocationUsers(database.db, devId, { offset: 10, seek: stale }, 5);
      // The third page of the location as it is now: one user less before it, so it starts one id later.
      expect(idsOf(page.dataJson)).toEqual((await ownIds(devId)).slice(10, 15));
      expect(page.generation).not.toBe(before.generation);
      expect(page.total).toBe(19);
    } finally {
      await database.db('users').where({ id: ids[0] }).update({ location_id: devId });
    }
  });

  it('when the start is an id (a next link), then the page is the users after it, whatever the generation', async () => {
    const ids = await ownIds(devId);
    const page = await pageOfLocationUsers(database.db, devId, { afterId: ids[16]! }, 5);
    expect(idsOf(page.dataJson)).toEqual(ids.slice(17));
    expect(page.rows).toBe(3);
  });

  it('writes names with quotes, backslashes and non-ASCII letters as valid JSON, and a missing role as null', async () => {
    await insertUsers(database.db, testId, [{ email: 'odd@test.test', name: 'Dewi "D" \\ Ñoño\u2028' }]);
    const page = await pageOfLocationUsers(database.db, testId, { offset: 0 }, 10);
    const rows = JSON.parse(page.dataJson) as Array<Record<string, unknown>>;
    expect(rows.find((r) => r.email === 'odd@test.test')).toMatchObject({
      name: 'Dewi "D" \\ Ñoño\u2028',
      email: 'odd@test.test',
      role: null,
      is_active: true,
    });
  });

  it('when the location has no users, then the page is an empty list with no generation', async () => {
    const emptyId = await addLocation(database.db, 'EMPTY', null);
    const page = await pageOfLocationUsers(database.db, emptyId, { offset: 0 }, 5);
    expect(page).toEqual({ dataJson: '[]', rows: 0, lastId: null, total: 0, generation: null });
  });
});
