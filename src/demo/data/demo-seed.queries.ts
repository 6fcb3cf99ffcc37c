import type { Knex } from '../../platform/db/knex';
import type { RemoteCredentials } from '../../platform/config';
import type { Container } from '../../container';

/**
 * The demo's data. Deterministic, so that every fresh clone shows the same first preview and the tests
 * can reason about it; every write is set-based and skipped when the data is already there.
 */

export interface DemoLocation {
  code: string;
  name: string;
}

export const DEMO_LOCATIONS: readonly DemoLocation[] = [
  { code: 'DEV', name: 'Development server' },
  { code: 'TEST', name: 'Test server' },
];

export interface DemoUser {
  email: string;
  name: string;
  role: string;
  isActive: boolean;
}

const FIRST_NAMES = ['Ana', 'Budi', 'Chen', 'Dewi', 'Eko', 'Fatima', 'Gita', 'Hiro', 'Irene', 'Joko', 'Zoë', 'Lars'];
const LAST_NAMES = ['Santoso', 'Müller', 'Wijaya', 'Okafor', 'Lestari', "O'Brien", 'Nakamura', 'Putri', 'Novak'];

const personName = (n: number) => `${FIRST_NAMES[n % FIRST_NAMES.length]} ${LAST_NAMES[(n * 7) % LAST_NAMES.length]}`;

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}

/**
 * The users a demo remote server holds. DEV and TEST share the first vendors (`dev_vendor1@dkm` is on
 * both), one email is mixed-case, and every 25th user is inactive on the remote.
 */
export function demoRemoteUsers(code: string): DemoUser[] {
  const users: DemoUser[] =
    code === 'DEV'
      ? [
          ...range(120).map((n) => ({ email: `dev_vendor${n}@dkm`, name: `Dev Vendor ${n}`, role: 'vendor' })),
          ...range(80).map((n) => ({
            email: `dev_staff${n}@dkm`,
            name: personName(n),
            role: n % 10 === 0 ? 'manager' : 'staff',
          })),
          ...range(40).map((n) => ({ email: `dev_viewer${n}@dkm`, name: personName(n + 80), role: 'viewer' })),
          { email: 'Dev.Lead@DKM', name: 'Dev Lead', role: 'manager' },
        ].map((u, i) => ({ ...u, isActive: (i + 1) % 25 !== 0 }))
      : [
          ...range(30).map((n) => ({ email: `dev_vendor${n}@dkm`, name: `Dev Vendor ${n}`, role: 'vendor' })),
          ...range(150).map((n) => ({
            email: `test_user${n}@dkm`,
            name: personName(n + 3),
            role: n % 15 === 0 ? 'manager' : 'tester',
          })),
          ...range(40).map((n) => ({ email: `qa${n}@dkm`, name: personName(n + 40), role: 'qa' })),
        ].map((u, i) => ({ ...u, isActive: (i + 1) % 25 !== 0 }));
  return users;
}

/** A remote user as the hub sees it: the remote server's row with its id. */
export interface RemoteRow {
  id: number;
  email: string;
  name: string;
  role: string | null;
  isActive: boolean;
}

export interface HubUser {
  email: string;
  name: string;
  role: string | null;
  isActive: boolean;
  remoteId: string | null;
}

/**
 * The hub's stale copy of a remote's users, so that the first preview has every category: every 20th
 * remote user is missing (new), some have another name, role or no remote id, some are inactive on the
 * hub while active remotely (reactivated), six active hub-only users are gone from the remote
 * (deactivated; few enough to stay under the mass-deactivation guard), and the rest are unchanged.
 */
export function demoHubCopy(code: string, remote: RemoteRow[]): HubUser[] {
  const copy: HubUser[] = [];
  remote.forEach((row, i) => {
    if (i % 20 === 0) return;
    const user: HubUser = {
      email: row.email.toLowerCase(),
      name: row.name,
      role: row.role,
      isActive: row.isActive,
      remoteId: String(row.id),
    };
    if (i % 20 === 7) user.name = `${row.name} (old name)`;
    if (i % 20 === 13) user.role = row.role === 'viewer' ? 'staff' : 'viewer';
    if (i % 20 === 17) user.remoteId = null;
    if (i % 40 === 3 && row.isActive) user.isActive = false;
    copy.push(user);
  });
  const prefix = code.toLowerCase();
  for (const n of range(6)) {
    copy.push({ email: `${prefix}_leaver${n}@dkm`, name: `Former ${code} user ${n}`, role: 'staff', isActive: true, remoteId: null });
  }
  for (const n of range(2)) {
    copy.push({ email: `${prefix}_gone${n}@dkm`, name: `Long gone ${n}`, role: 'staff', isActive: false, remoteId: null });
  }
  return copy;
}

async function insertUsers(db: Knex, locationId: number, users: Array<DemoUser | HubUser>, synced: boolean): Promise<number> {
  const result = await db.raw(
    `INSERT INTO users (location_id, email, name, role, is_active, remote_id, last_synced_at, deactivated_at)
     SELECT ?, u.email, u.name, u.role, u.is_active, u.remote_id,
            CASE WHEN ? THEN now() - interval '1 day' END,
            CASE WHEN u.is_active THEN NULL ELSE now() - interval '2 days' END
     FROM unnest(?::text[], ?::text[], ?::text[], ?::boolean[], ?::text[])
          AS u(email, name, role, is_active, remote_id)
     ON CONFLICT (location_id, lower(email)) DO NOTHING`,
    // knex's types know no arrays holding nulls; pg sends them as SQL arrays with NULLs.
    [
      locationId,
      synced,
      users.map((u) => u.email),
      users.map((u) => u.name),
      users.map((u) => u.role),
      users.map((u) => u.isActive),
      users.map((u) => ('remoteId' in u ? u.remoteId : null)),
    ] as Knex.RawBinding[],
  );
  return result.rowCount ?? 0;
}

/** Users of a location that were not created as admins (admins have a password; synced users never do). */
async function countPlainUsers(db: Knex, locationId: number): Promise<number> {
  const row = await db('users').where({ location_id: locationId }).whereNull('password_hash').count<{ count: number }>('id as count').first();
  return Number(row?.count ?? 0);
}

/**
 * A demo remote: the API account (role `api`) the hub signs in with (reset when the configured password
 * changed, or when an older demo made it an admin)
 * and its users, inserted once. Returns how many users were inserted.
 */
export async function seedDemoRemote(remote: Container, apiAccount: RemoteCredentials): Promise<number> {
  const { auth } = remote.services;
  if (!(await auth.authenticate(apiAccount.email, apiAccount.password, 'api'))) {
    await auth.createOrResetAccount(apiAccount.email, apiAccount.password, { role: 'api', name: 'Sync API account' });
  }
  if ((await countPlainUsers(remote.db, remote.ownLocation.id)) > 0) return 0;
  return insertUsers(remote.db, remote.ownLocation.id, demoRemoteUsers(remote.ownLocation.code), false);
}

/** What the remote serves, read from its database (the hub copy is derived from it). */
export async function readRemoteRows(remote: Container): Promise<RemoteRow[]> {
  const rows: Array<{ id: number; email: string; name: string; role: string | null; is_active: boolean }> = await remote
    .db('users')
    .where({ location_id: remote.ownLocation.id })
    .orderBy('id')
    .select('id', 'email', 'name', 'role', 'is_active');
  return rows.map((r) => ({ id: r.id, email: r.email, name: r.name, role: r.role, isActive: r.is_active }));
}

/**
 * On the hub: the location pointing at the demo server (its URL follows the port it runs on) and, when
 * that location has no users yet, the stale copy. Returns how many users were inserted.
 */
export async function seedDemoHubLocation(hub: Container, location: DemoLocation, onlineUrl: string, remote: Container): Promise<number> {
  const { locations } = hub.repositories;
  let stored = await locations.findByCode(location.code);
  if (!stored) stored = await locations.create({ code: location.code, name: location.name, onlineUrl });
  else if (stored.onlineUrl !== onlineUrl) {
    stored = (await locations.update(stored.id, { code: stored.code, name: stored.name, onlineUrl })) ?? stored;
  }
  // The demo itself sets this URL (its own server, on the port it took), so the pairing needs no admin.
  if (!stored.onlineUrlConfirmed) await locations.confirmOnlineUrl(stored.id, { onlineUrl, code: stored.code });
  if ((await countPlainUsers(hub.db, stored.id)) > 0) return 0;
  return insertUsers(hub.db, stored.id, demoHubCopy(location.code, await readRemoteRows(remote)), true);
}
