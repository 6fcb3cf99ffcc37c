import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { addLocation, insertUsers } from '../support/sync-fixtures';

let database: TestDatabase;
let devId: number;
let testId: number;

beforeAll(async () => {
  database = await createTestDatabase();
  devId = await addLocation(database.db, 'DEV', null);
  testId = await addLocation(database.db, 'TEST', null);
});
afterAll(async () => {
  await database.drop();
});

/** The kept counts and the real ones, by location id. */
async function counts(): Promise<{ kept: Record<number, number>; real: Record<number, number> }> {
  const kept = await database.db('location_user_counts').select('location_id', 'users');
  const real: Array<{ location_id: number; users: string | number }> = await database
    .db('users')
    .select('location_id')
    .count({ users: '*' })
    .groupBy('location_id');
  const byId = (rows: Array<{ location_id: number; users: string | number }>) =>
    Object.fromEntries(rows.filter((r) => Number(r.users) > 0).map((r) => [r.location_id, Number(r.users)]));
  return { kept: byId(kept), real: byId(real) };
}

describe('location_user_counts (what /api/users states as total)', () => {
  it('when users are added, upserted, moved, deleted and truncated, then the kept counts equal count(*)', async () => {
    const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@dev.test`, name: `${prefix} ${i}` }));
    await insertUsers(database.db, devId, users('dev', 30));
    await insertUsers(database.db, testId, users('test', 12));
    expect(await counts()).toEqual({ kept: { [devId]: 30, [testId]: 12 }, real: { [devId]: 30, [testId]: 12 } });

    // An upsert that updates counts nothing; one that inserts counts one.
    await database.db.raw(
      `INSERT INTO users (location_id, email, name) VALUES (?, 'dev0@dev.test', 'again'), (?, 'fresh@dev.test', 'fresh')
       ON CONFLICT (location_id, lower(email)) DO UPDATE SET name = excluded.name`,
      [devId, devId],
    );
    await database.db('users').where({ location_id: devId }).whereIn('email', ['dev1@dev.test', 'dev2@dev.test']).update({ location_id: testId });
    await database.db('users').where({ location_id: testId }).whereLike('email', 'test1%').delete();
    await database.db('users').where({ location_id: devId }).update({ name: 'renamed' });
    const after = await counts();
    expect(after.kept).toEqual(after.real);
    expect(after.kept[devId]).toBe(29);

    await database.db.raw('TRUNCATE users CASCADE');
    expect(await counts()).toEqual({ kept: {}, real: {} });
    await insertUsers(database.db, devId, users('again', 3));
    expect(await counts()).toEqual({ kept: { [devId]: 3 }, real: { [devId]: 3 } });
  });

  it('moves a location’s generation on every change of which users it has or of their ids, and on no other edit', async () => {
    const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@gen.test`, name: `${prefix} ${i}` }));
    await insertUsers(database.db, devId, users('gen', 4));
    const generation = async (locationId: number) =>
      String((await database.db('location_user_counts').where({ location_id: locationId }).first('generation'))?.generation);
    const seen = [await generation(devId)];
    const expectNew = async (locationId: number) => {
      const now = await generation(locationId);
      expect(seen).not.toContain(now);
      seen.push(now);
    };
    const expectSame = async (locationId: number) => expect(await generation(locationId)).toBe(seen.at(-1));

    await database.db('users').where({ location_id: devId }).update({ name: 'renamed', role: 'manager', is_active: false });
    await expectSame(devId);
    await insertUsers(database.db, devId, users('gen-more', 1));
    await expectNew(devId);
    const [first, second] = (await database.db('users').where({ location_id: devId }).orderBy('id').pluck('id')) as number[];
    await database.db('users').where({ id: first }).delete();
    await expectNew(devId);
    await database.db('users').where({ id: second }).update({ id: 900_000 });
    await expectNew(devId);
    await database.db('users').where({ id: 900_000 }).update({ location_id: testId });
    await expectNew(devId);
    await expectNew(testId);
  });
});
