import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as migration from '../../migrations/2025_11_21_000000_add_users_listing_indexes';
import { createUsersRepository } from '../../src/users/users.queries';
import { createTestDatabase, type TestDatabase } from '../support/database';

const INDEXES = ['users_email_trgm_idx', 'users_location_id_id_idx', 'users_name_trgm_idx'];

let database: TestDatabase;

async function listingIndexes(): Promise<string[]> {
  const rows: { indexname: string }[] = (
    await database.db.raw(`SELECT indexname FROM pg_indexes WHERE tablename = 'users' AND indexname = ANY(?) ORDER BY indexname`, [INDEXES])
  ).rows;
  return rows.map((r) => r.indexname);
}

async function usersStorageOptions(): Promise<string[] | null> {
  const rows = (await database.db.raw(`SELECT reloptions FROM pg_class WHERE relname = 'users' AND relkind = 'r'`)).rows;
  return rows[0].reloptions;
}

async function hasTrigramExtension(): Promise<boolean> {
  const rows = (await database.db.raw(`SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'`)).rows;
  return rows.length === 1;
}

/** The plan of a query with sequential scans priced out, so an index that fits is the one chosen. */
async function planOf(sql: string, bindings: Knex.RawBinding[]): Promise<string> {
  return database.db.transaction(async (trx) => {
    await trx.raw('SET LOCAL enable_seqscan = off');
    const rows: { 'QUERY PLAN': string }[] = (await trx.raw(`EXPLAIN ${sql}`, bindings)).rows;
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
  const [north] = await database.db('locations').insert({ code: 'NORTH', name: 'North' }).returning('id');
  const [south] = await database.db('locations').insert({ code: 'SOUTH', name: 'South' }).returning('id');
  await database.db('users').insert([
    { location_id: north.id, email: 'ada.lovelace@north.test', name: 'Ada Lovelace' },
    { location_id: north.id, email: 'grace@north.test', name: 'Grace Hopper' },
    { location_id: south.id, email: 'ADA@south.test', name: 'Ada South' },
    { location_id: south.id, email: 'percent%user@south.test', name: '100% Done' },
  ]);
});
afterAll(async () => {
  await database.drop();
});

describe('migration 2025_11_21_000000_add_users_listing_indexes', () => {
  it('when migrated, then pg_trgm, the three listing indexes and room for HOT updates exist', async () => {
    expect(await hasTrigramExtension()).toBe(true);
    expect(await listingIndexes()).toEqual(INDEXES);
    expect(await usersStorageOptions()).toEqual(['fillfactor=90']);
  });

  it('when a search runs, then the trigram indexes serve the ILIKE on email and name', async () => {
    const plan = await planOf('SELECT id FROM users WHERE email ILIKE ? OR name ILIKE ?', ['%lovelace%', '%lovelace%']);
    expect(plan).toContain('users_email_trgm_idx');
    expect(plan).toContain('users_name_trgm_idx');
  });

  it("when a location's page is listed, then users come from (location_id, id) in id order without a sort", async () => {
    const plan = await planOf('SELECT id FROM users WHERE location_id = ? ORDER BY id LIMIT 51', [1]);
    expect(plan).toContain('users_location_id_id_idx');
    expect(plan).not.toMatch(/\bSort\b/);
  });

  it('when the list is filtered and searched, then it finds the same users as before the indexes', async () => {
    const users = createUsersRepository(database.db);
    const byLocation = await users.list({ locationCode: 'south', page: 1, perPage: 10 });
    expect(byLocation.users.map((u) => u.email)).toEqual(['ADA@south.test', 'percent%user@south.test']);
    const search = await users.list({ q: 'ada', page: 1, perPage: 10 });
    expect(search.users.map((u) => u.email)).toEqual(['ada.lovelace@north.test', 'ADA@south.test']);
    const literalPercent = await users.list({ q: '0%', page: 1, perPage: 10 });
    expect(literalPercent.users.map((u) => u.email)).toEqual(['percent%user@south.test']);
    const both = await users.list({ locationCode: 'NORTH', q: 'HOPPER', page: 1, perPage: 10 });
    expect(both.users.map((u) => u.email)).toEqual(['grace@north.test']);
    const unknownLocation = await users.list({ locationCode: 'WEST', page: 1, perPage: 10 });
    expect(unknownLocation.users).toEqual([]);
  });

  it('when rolled back and applied again, then the indexes and the extension go and come back', async () => {
    await migration.down(database.db);
    expect(await listingIndexes()).toEqual([]);
    expect(await hasTrigramExtension()).toBe(false);
    expect(await usersStorageOptions()).toBeNull();
    expect((await database.db('users').count({ n: '*' }))[0]).toEqual({ n: 4 });

    await migration.up(database.db);
    expect(await hasTrigramExtension()).toBe(true);
    expect(await listingIndexes()).toEqual(INDEXES);
    expect(await usersStorageOptions()).toEqual(['fillfactor=90']);
  });
});
