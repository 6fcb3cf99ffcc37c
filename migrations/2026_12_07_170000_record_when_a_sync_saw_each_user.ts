import type { Knex } from 'knex';

// "Last synced" is the last run that saw the user. A sync writes last_synced_at on the users it changes;
// the users it finds unchanged (usually nearly all) are recorded here instead, one narrow row each, and
// User Management shows the later of the two. Stamping them in users itself rewrote every wide row of the
// location, with its five indexes, on every execute (a 100,000-user execute took several times as long),
// and moved updated_at, which the stale checks and reverts read. A low fillfactor leaves each page room
// for the next execute's copy of its rows, so that those updates stay HOT (no index entry written).
/** A new table only: the previous version runs on the schema as it was (it just records no sightings). */
export const additive = true;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE user_sync_sightings (
      user_id integer PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
      seen_at timestamptz NOT NULL
    ) WITH (fillfactor = 50)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS user_sync_sightings');
}
