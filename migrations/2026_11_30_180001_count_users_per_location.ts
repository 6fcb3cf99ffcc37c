import type { Knex } from 'knex';

// The served /api/users states `total` and `last_page` on every page (the remote API contract), and a
// count(*) of a location's users cost more than the page itself (about 8 ms a page at 100,000 users).
// The counts are kept here instead, exact and in the same transaction as the change, by statement-level
// triggers: one upsert per statement whatever the number of rows (a sync's insert of thousands of users
// takes one row lock of its location's count until it commits; syncs of one location are serialized anyway).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE location_user_counts (
      location_id integer PRIMARY KEY REFERENCES locations (id) ON DELETE CASCADE,
      users bigint NOT NULL
    )`);
  await knex.raw(`INSERT INTO location_user_counts (location_id, users) SELECT location_id, count(*) FROM users GROUP BY location_id`);
  await knex.raw(`
    CREATE FUNCTION location_user_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO location_user_counts (location_id, users)
      SELECT location_id, count(*) FROM added GROUP BY location_id ORDER BY location_id
      ON CONFLICT (location_id) DO UPDATE SET users = location_user_counts.users + excluded.users;
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE FUNCTION location_user_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE location_user_counts c SET users = c.users - r.users
      FROM (SELECT location_id, count(*) AS users FROM removed GROUP BY location_id) r
      WHERE c.location_id = r.location_id;
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE FUNCTION location_user_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE location_user_counts SET users = users - 1 WHERE location_id = OLD.location_id;
      INSERT INTO location_user_counts (location_id, users) VALUES (NEW.location_id, 1)
      ON CONFLICT (location_id) DO UPDATE SET users = location_user_counts.users + 1;
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE FUNCTION location_user_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM location_user_counts;
      RETURN NULL;
    END
    $$`);
  await knex.raw(`CREATE TRIGGER users_count_insert AFTER INSERT ON users REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION location_user_counts_add()`);
  await knex.raw(`CREATE TRIGGER users_count_delete AFTER DELETE ON users REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION location_user_counts_remove()`);
  // Row level, on the column alone: a sync's updates never name location_id, so they never fire it.
  await knex.raw(`CREATE TRIGGER users_count_move AFTER UPDATE OF location_id ON users
    FOR EACH ROW WHEN (OLD.location_id IS DISTINCT FROM NEW.location_id) EXECUTE FUNCTION location_user_counts_move()`);
  await knex.raw(`CREATE TRIGGER users_count_truncate AFTER TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION location_user_counts_clear()`);
}

export async function down(knex: Knex): Promise<void> {
  for (const trigger of ['users_count_insert', 'users_count_delete', 'users_count_move', 'users_count_truncate']) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${trigger} ON users`);
  }
  for (const fn of ['location_user_counts_add', 'location_user_counts_remove', 'location_user_counts_move', 'location_user_counts_clear']) {
    await knex.raw(`DROP FUNCTION IF EXISTS ${fn}()`);
  }
  await knex.raw('DROP TABLE IF EXISTS location_user_counts');
}
