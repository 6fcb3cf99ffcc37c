import type { Container } from '../../../src/container';

export interface ExpectedPlan {
  added: string[];
  updated: string[];
  reactivated: string[];
  linked: string[];
  /** Active here and inactive on the remote, or missing from its list. */
  deactivated: string[];
  inactiveRemotely: string[];
  missingRemotely: string[];
  unchanged: string[];
}

interface Row {
  email: string;
  name: string;
  role: string | null;
  is_active: boolean;
  remote_id?: string | null;
  id?: number;
}

const sorted = (values: Iterable<string>) => [...values].sort();

/**
 * What a sync of `code` must plan, worked out independently of the app from the two databases: the
 * remote instance's own users (what its API serves) against the hub's users of that location.
 */
export async function expectedPlan(hub: Container, remote: Container, code: string): Promise<ExpectedPlan> {
  const remoteRows: Row[] = await remote.db('users').where({ location_id: remote.ownLocation.id }).select('id', 'email', 'name', 'role', 'is_active');
  const hubRows: Row[] = await hub
    .db('users')
    .join('locations', 'locations.id', 'users.location_id')
    .where('locations.code', code)
    .select('users.email', 'users.name', 'users.role', 'users.is_active', 'users.remote_id');
  const local = new Map(hubRows.map((row) => [row.email.toLowerCase(), row]));
  const remoteEmails = new Set(remoteRows.map((row) => row.email.toLowerCase()));

  const plan: ExpectedPlan = {
    added: [],
    updated: [],
    reactivated: [],
    linked: [],
    deactivated: [],
    inactiveRemotely: [],
    missingRemotely: [],
    unchanged: [],
  };
  for (const row of remoteRows) {
    const email = row.email.toLowerCase();
    const mine = local.get(email);
    const sameButId = mine && mine.name === row.name && mine.role === row.role && mine.is_active === row.is_active;
    if (!mine) plan.added.push(email);
    else if (mine.is_active && !row.is_active) plan.inactiveRemotely.push(email);
    else if (sameButId && mine.remote_id === null && mine.remote_id !== String(row.id)) plan.linked.push(email);
    else if (!sameButId || mine.remote_id !== String(row.id)) {
      plan.updated.push(email);
      if (!mine.is_active && row.is_active) plan.reactivated.push(email);
    } else plan.unchanged.push(email);
  }
  for (const row of hubRows) {
    if (row.is_active && !remoteEmails.has(row.email.toLowerCase())) plan.missingRemotely.push(row.email.toLowerCase());
  }
  return {
    added: sorted(plan.added),
    updated: sorted(plan.updated),
    reactivated: sorted(plan.reactivated),
    linked: sorted(plan.linked),
    deactivated: sorted([...plan.inactiveRemotely, ...plan.missingRemotely]),
    inactiveRemotely: sorted(plan.inactiveRemotely),
    missingRemotely: sorted(plan.missingRemotely),
    unchanged: sorted(plan.unchanged),
  };
}

/** The hub's users of a location as email → { name, role, active }, to compare with the remote after a sync. */
export async function usersOf(container: Container, where: { code?: string; own?: boolean }) {
  const query = container.db('users').join('locations', 'locations.id', 'users.location_id');
  if (where.own) query.where('users.location_id', container.ownLocation.id);
  else query.where('locations.code', where.code!);
  const rows: Row[] = await query.select('users.email', 'users.name', 'users.role', 'users.is_active');
  return new Map(rows.map((row) => [row.email.toLowerCase(), { name: row.name, role: row.role, isActive: row.is_active }]));
}
