import type { Knex } from 'knex';
import { normaliseEmail } from '../platform/email';

export interface User {
  id: number;
  locationId: number;
  email: string;
  name: string;
  role: string | null;
  isActive: boolean;
  remoteId: string | null;
  lastSyncedAt: Date | null;
  deactivatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Bumped by a password reset: sessions and API tokens issued under an older version are refused. */
  tokenVersion: number;
}

/** The roles of this instance's own accounts: admins use the pages, API accounts the served API. */
export type AccountRole = 'admin' | 'api';

export interface UserListRow extends User {
  locationCode: string;
}

export interface UserListFilter {
  locationCode?: string;
  status?: 'active' | 'inactive';
  q?: string;
  page: number;
  perPage: number;
}

export interface UserListPage {
  users: UserListRow[];
  page: number;
  perPage: number;
  hasNext: boolean;
}

/**
 * How many users the filter matches: exact (`atLeast` false), or, where only a scan could tell, a count
 * that stopped at a cap (`atLeast`: more than `users`).
 */
export interface UserListCount {
  users: number;
  atLeast: boolean;
}

/** A filtered count stops here: past it, "more than 10,000" is all an admin needs, and no scan runs on. */
export const USER_COUNT_CAP = 10_000;

interface UserRow {
  id: number;
  location_id: number;
  email: string;
  name: string;
  role: string | null;
  is_active: boolean;
  remote_id: string | null;
  password_hash: string | null;
  token_version: number;
  last_synced_at: Date | null;
  deactivated_at: Date | null;
  created_at: Date;
  updated_at: Date;
  location_code?: string;
}

const USER_COLUMNS = [
  'users.id',
  'users.location_id',
  'users.email',
  'users.name',
  'users.role',
  'users.is_active',
  'users.remote_id',
  'users.last_synced_at',
  'users.deactivated_at',
  'users.created_at',
  'users.updated_at',
  'users.token_version',
];

export const toUser = (row: UserRow): User => ({
  id: row.id,
  locationId: row.location_id,
  email: row.email,
  name: row.name,
  role: row.role,
  isActive: row.is_active,
  remoteId: row.remote_id,
  lastSyncedAt: row.last_synced_at,
  deactivatedAt: row.deactivated_at,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  tokenVersion: row.token_version,
});

/** LIKE treats % and _ as wildcards; a search for them must find them literally. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The location's id for a code, as a subquery: a constant to the planner, so (location_id, id) serves. */
const locationIdOf = (db: Knex, code: string) => db('locations').select('id').whereRaw('upper(code) = upper(?)', [code]).limit(1);

/**
 * When a sync last saw each of these users unchanged (user_sync_sightings, which the sync writes by blocks
 * of 1,024 ids: a few rows for a page, each id looked up in its block's array).
 */
async function lastSeen(db: Knex, users: Array<{ id: number; locationId: number }>): Promise<Map<number, Date>> {
  if (users.length === 0) return new Map();
  const { rows } = await db.raw(
    `SELECT p.id, s.seen_at
     FROM unnest(?::int[], ?::int[]) AS p(id, location_id)
     JOIN user_sync_sightings s ON s.location_id = p.location_id AND s.block = p.id >> 10
     WHERE p.id = ANY (s.user_ids)`,
    [`{${users.map((u) => u.id).join(',')}}`, `{${users.map((u) => u.locationId).join(',')}}`],
  );
  return new Map((rows as Array<{ id: number; seen_at: Date }>).map((row) => [row.id, row.seen_at]));
}

/** The user list's filter on a query over users. */
function applyFilter(db: Knex, query: Knex.QueryBuilder, filter: Omit<UserListFilter, 'page' | 'perPage'>): Knex.QueryBuilder {
  if (filter.locationCode) query.where('users.location_id', locationIdOf(db, filter.locationCode));
  if (filter.status) query.where('users.is_active', filter.status === 'active');
  if (filter.q) {
    const pattern = `%${escapeLike(filter.q)}%`;
    query.where((w) => w.whereILike('users.email', pattern).orWhereILike('users.name', pattern));
  }
  return query;
}

export function createUsersRepository(db: Knex) {
  return {
    async findById(id: number): Promise<User | undefined> {
      const row: UserRow | undefined = await db('users').select(USER_COLUMNS).where({ id }).first();
      return row && toUser(row);
    },

    /** The user and password hash for a login to this instance (its own location only). */
    async findCredentials(locationId: number, email: string): Promise<{ user: User; passwordHash: string | null } | undefined> {
      const row = await db<UserRow>('users').where({ location_id: locationId }).whereRaw('lower(email) = lower(?)', [email.trim()]).first();
      return row && { user: toUser(row), passwordHash: row.password_hash };
    },

    /**
     * What login throttling counts an email as: the account's id when this instance has it, else the
     * email lowered by PostgreSQL, the way the lookup above compares (JavaScript lowers `İ` otherwise).
     */
    async loginKey(locationId: number, email: string): Promise<string> {
      const { rows } = await db.raw(
        `SELECT lower(?) AS email,
                (SELECT id FROM users WHERE location_id = ? AND lower(email) = lower(?) LIMIT 1) AS id`,
        [email.trim(), locationId, email.trim()],
      );
      const row = rows[0] as { email: string; id: number | null };
      return row.id === null ? `email:${row.email}` : `user:${row.id}`;
    },

    /** The page language the admin chose, if any. */
    async languageOf(id: number): Promise<string | null> {
      const row: { language: string | null } | undefined = await db('users').where({ id }).first('language');
      return row?.language ?? null;
    },

    /** Remembers the admin's page language for their next sign-in. */
    async setLanguage(id: number, language: string): Promise<void> {
      await db('users').where({ id }).update({ language });
    },

    async hasActiveAdmin(locationId: number): Promise<boolean> {
      const row = await db('users').where({ location_id: locationId, role: 'admin', is_active: true }).whereNotNull('password_hash').first('id');
      return row !== undefined;
    },

    /**
     * Creates the account, or resets the password of the account with that email and gives it the role.
     * A reset bumps the token version, which ends the account's sessions and API tokens.
     */
    async upsertAccount(input: { locationId: number; email: string; name: string; role: AccountRole; passwordHash: string }): Promise<User> {
      const email = normaliseEmail(input.email);
      const [row] = (
        await db.raw(
          `INSERT INTO users (location_id, email, name, role, is_active, password_hash)
           VALUES (?, ?, ?, ?, true, ?)
           ON CONFLICT (location_id, lower(email)) DO UPDATE
             SET role = EXCLUDED.role, is_active = true, deactivated_at = NULL,
                 password_hash = EXCLUDED.password_hash, token_version = users.token_version + 1, updated_at = now()
           RETURNING *`,
          [input.locationId, email, input.name, input.role, input.passwordHash],
        )
      ).rows as UserRow[];
      return toUser(row as UserRow);
    },

    /**
     * One page of the user list. Fetches one row more than the page to know whether a next page
     * exists, so no page pays for a COUNT(*) over a large table.
     */
    async list(filter: UserListFilter): Promise<UserListPage> {
      const query = db<UserRow>('users')
        .join('locations', 'locations.id', 'users.location_id')
        .select([...USER_COLUMNS, 'locations.code as location_code'])
        .orderBy('users.id', 'asc')
        .limit(filter.perPage + 1)
        .offset((filter.page - 1) * filter.perPage);
      // The location's id as a constant, so (location_id, id) gives its users in id order: a join
      // condition on the code would make Postgres sort every user of the location for one page.
      applyFilter(db, query, filter);
      const found = await query;
      const rows = found.slice(0, filter.perPage);
      // Last synced: the later of the last sync that wrote the user and the last that saw it unchanged.
      const seen = await lastSeen(
        db,
        rows.map((row) => ({ id: row.id, locationId: row.location_id })),
      );
      const lastSynced = (row: UserRow) => {
        const at = seen.get(row.id);
        return at && (!row.last_synced_at || at > row.last_synced_at) ? at : row.last_synced_at;
      };
      return {
        users: rows.map((row) => ({ ...toUser(row), lastSyncedAt: lastSynced(row), locationCode: row.location_code! })),
        page: filter.page,
        perPage: filter.perPage,
        hasNext: found.length > filter.perPage,
      };
    },

    /**
     * How many users the list's filter matches. By location alone (or none) it is read from
     * location_user_counts, which triggers keep exact; a status or a search is counted up to
     * USER_COUNT_CAP + 1 matches and no further, so a million users are never all read for a number.
     */
    async count(filter: Omit<UserListFilter, 'page' | 'perPage'>): Promise<UserListCount> {
      if (!filter.status && !filter.q) {
        const counts = db('location_user_counts').first(db.raw('coalesce(sum(users), 0)::int AS users'));
        if (filter.locationCode) counts.where('location_id', locationIdOf(db, filter.locationCode));
        const row = (await counts) as { users: number };
        return { users: row.users, atLeast: false };
      }
      const matches = applyFilter(db, db('users').select(db.raw('1')), filter).limit(USER_COUNT_CAP + 1);
      const row = (await db.from(matches.as('m')).first(db.raw('count(*)::int AS users'))) as { users: number };
      return row.users > USER_COUNT_CAP ? { users: USER_COUNT_CAP, atLeast: true } : { users: row.users, atLeast: false };
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
