import type { Knex } from 'knex';

// "Last synced" is the last run that saw the user. A sync writes last_synced_at on the users it changes;
// the users it finds unchanged (usually nearly all) are recorded here instead, by blocks of 1,024 ids: one
// row per block of a location holds the ids the last sync that found unchanged users in it saw, and when.
// User Management shows the later of that time and last_synced_at. Stamping the unchanged users one by one
// (in users, or a row each here) wrote a row version per user on every execute, several times the cost of
// the execute itself at 100,000 users; and in users it moved updated_at, which stale checks and reverts read.
// A block's ids are replaced by the next sync that sees any of them: a user it did not see (an inactive one
// gone from the remote) then shows when a sync last wrote it.

/** A new table only: the previous version runs on the schema as it was (it just records no sightings). */
export const additive = true;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE user_sync_sightings (
      location_id integer NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
      block integer NOT NULL,
      seen_at timestamptz NOT NULL,
      user_ids integer[] NOT NULL,
      PRIMARY KEY (location_id, block)
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS user_sync_sightings');
}
