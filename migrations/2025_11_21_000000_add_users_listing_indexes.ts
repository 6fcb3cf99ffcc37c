import type { Knex } from 'knex';

// User Management at a million users: the search (ILIKE '%…%' on email and name) needs trigram
// indexes, and a location's page needs its users in id order without sorting the whole location.

// Built CONCURRENTLY, which cannot run inside a transaction: on a deployed table with many users a plain
// CREATE INDEX would block every write to users (sign-ins, syncs) for as long as the build takes.
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  // pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  await knex.raw('CREATE INDEX CONCURRENTLY users_email_trgm_idx ON users USING gin (email gin_trgm_ops)');
  await knex.raw('CREATE INDEX CONCURRENTLY users_name_trgm_idx ON users USING gin (name gin_trgm_ops)');
  await knex.raw('CREATE INDEX CONCURRENTLY users_location_id_id_idx ON users (location_id, id)');
  // Room on each page for HOT updates: a sync that changes a role, the active flag or the timestamps
  // then writes no index entry at all, instead of about fifty trigram entries per user.
  await knex.raw('ALTER TABLE users SET (fillfactor = 90)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE users RESET (fillfactor)');
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS users_location_id_id_idx');
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS users_name_trgm_idx');
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS users_email_trgm_idx');
  // Without CASCADE: if anything else has come to depend on pg_trgm, the rollback stops rather than drop it.
  await knex.raw('DROP EXTENSION IF EXISTS pg_trgm');
}
