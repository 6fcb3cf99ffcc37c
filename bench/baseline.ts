/**
 * The per-row reference: a direct port of the original sync. All pages fetched, then for each remote user
 * a SELECT by email and location followed by an INSERT or an UPDATE, then one UPDATE per local user
 * missing from the remote list. Each statement commits on its own, as the original's ORM calls did;
 * `oneTransaction` wraps the loop in one transaction instead (the per-row way at its kindest).
 */
import pg from 'pg';
import { fetchPage, loginToRemote } from './remote-fetch';

interface RemoteRow {
  id: number | string;
  email: string;
  name?: string | null;
  role?: string | null;
  is_active?: boolean;
}

export interface BaselineResult {
  users: number;
  ms: number;
  fetchMs: number;
  statements: number;
}

export async function runPerRowBaseline(options: {
  databaseUrl: string;
  remoteUrl: string;
  credentials: { email: string; password: string };
  locationId: number;
  perPage: number;
  oneTransaction: boolean;
}): Promise<BaselineResult> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const started = performance.now();
    const token = await loginToRemote(options.remoteUrl, options.credentials);
    const remote: RemoteRow[] = [];
    for (let page = 1; ; page++) {
      const body = JSON.parse(Buffer.from(await fetchPage(options.remoteUrl, token, page, options.perPage)).toString('utf8')) as {
        data: RemoteRow[];
        links: { next: string | null };
      };
      remote.push(...body.data);
      if (!body.links.next || body.data.length === 0) break;
    }
    const fetchMs = performance.now() - started;

    let statements = 0;
    if (options.oneTransaction) await client.query('BEGIN');
    const seen = new Set<string>();
    for (const row of remote) {
      const email = row.email.trim().toLowerCase();
      seen.add(email);
      const found = await client.query('SELECT id FROM users WHERE location_id = $1 AND lower(email) = $2 LIMIT 1', [options.locationId, email]);
      statements++;
      const values = [row.name ?? '', row.role ?? null, row.is_active !== false, String(row.id)];
      if (found.rows[0]) {
        await client.query(
          `UPDATE users SET name = $1, role = $2, is_active = $3, remote_id = $4,
                  deactivated_at = CASE WHEN $3 THEN NULL ELSE coalesce(deactivated_at, now()) END,
                  last_synced_at = now(), updated_at = now()
           WHERE id = $5`,
          [...values, found.rows[0].id],
        );
      } else {
        await client.query(
          `INSERT INTO users (location_id, email, name, role, is_active, remote_id, last_synced_at)
           VALUES ($1, $2, $3, $4, $5, $6, now())`,
          [options.locationId, email, ...values],
        );
      }
      statements++;
    }
    const local = await client.query('SELECT id, email FROM users WHERE location_id = $1 AND is_active', [options.locationId]);
    statements++;
    for (const user of local.rows as { id: number; email: string }[]) {
      if (seen.has(user.email.toLowerCase())) continue;
      await client.query('UPDATE users SET is_active = false, deactivated_at = now(), updated_at = now() WHERE id = $1', [user.id]);
      statements++;
    }
    if (options.oneTransaction) await client.query('COMMIT');
    return { users: remote.length, ms: performance.now() - started, fetchMs, statements };
  } finally {
    await client.end();
  }
}
