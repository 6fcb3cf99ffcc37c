import type { Knex } from 'knex';

// The served /api/users finds page N from the end of a page it served before (a seek by id instead of an
// offset walk over every earlier user). That is exact only while the location's set of users is the one the
// earlier page saw, so each count row gets a generation: a fresh number from a sequence whenever a user is
// added to, removed from or moved out of the location (or a user's id changes). A page query reads it in the
// same snapshot as the users and seeks only when it is unchanged. Edits of names, roles and flags change
// neither membership nor order, so they leave it alone.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE SEQUENCE location_user_generations');
  await knex.raw(`ALTER TABLE location_user_counts ADD COLUMN generation bigint NOT NULL DEFAULT nextval('location_user_generations')`);
  await knex.raw(`
    CREATE OR REPLACE FUNCTION location_user_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO location_user_counts (location_id, users)
      SELECT location_id, count(*) FROM added GROUP BY location_id ORDER BY location_id
      ON CONFLICT (location_id) DO UPDATE
        SET users = location_user_counts.users + excluded.users, generation = nextval('location_user_generations');
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE OR REPLACE FUNCTION location_user_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE location_user_counts c SET users = c.users - r.users, generation = nextval('location_user_generations')
      FROM (SELECT location_id, count(*) AS users FROM removed GROUP BY location_id) r
      WHERE c.location_id = r.location_id;
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE OR REPLACE FUNCTION location_user_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE location_user_counts SET users = users - 1, generation = nextval('location_user_generations')
      WHERE location_id = OLD.location_id;
      INSERT INTO location_user_counts (location_id, users) VALUES (NEW.location_id, 1)
      ON CONFLICT (location_id) DO UPDATE
        SET users = location_user_counts.users + 1, generation = nextval('location_user_generations');
      RETURN NULL;
    END
    $$`);
  // A changed id reorders the location's pages as a move does (the count's -1 and +1 cancel out).
  await knex.raw('DROP TRIGGER users_count_move ON users');
  await knex.raw(`CREATE TRIGGER users_count_move AFTER UPDATE OF location_id, id ON users
    FOR EACH ROW WHEN (OLD.location_id IS DISTINCT FROM NEW.location_id OR OLD.id <> NEW.id) EXECUTE FUNCTION location_user_counts_move()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER users_count_move ON users');
  await knex.raw(`CREATE TRIGGER users_count_move AFTER UPDATE OF location_id ON users
    FOR EACH ROW WHEN (OLD.location_id IS DISTINCT FROM NEW.location_id) EXECUTE FUNCTION location_user_counts_move()`);
  await knex.raw(`
    CREATE OR REPLACE FUNCTION location_user_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO location_user_counts (location_id, users)
      SELECT location_id, count(*) FROM added GROUP BY location_id ORDER BY location_id
      ON CONFLICT (location_id) DO UPDATE SET users = location_user_counts.users + excluded.users;
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE OR REPLACE FUNCTION location_user_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE location_user_counts c SET users = c.users - r.users
      FROM (SELECT location_id, count(*) AS users FROM removed GROUP BY location_id) r
      WHERE c.location_id = r.location_id;
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE OR REPLACE FUNCTION location_user_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE location_user_counts SET users = users - 1 WHERE location_id = OLD.location_id;
      INSERT INTO location_user_counts (location_id, users) VALUES (NEW.location_id, 1)
      ON CONFLICT (location_id) DO UPDATE SET users = location_user_counts.users + 1;
      RETURN NULL;
    END
    $$`);
  await knex.raw('ALTER TABLE location_user_counts DROP COLUMN generation');
  await knex.raw('DROP SEQUENCE location_user_generations');
}
