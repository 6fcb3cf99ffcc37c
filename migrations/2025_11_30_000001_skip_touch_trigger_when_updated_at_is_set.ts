import type { Knex } from 'knex';

// users_touch_updated_at moves updated_at on every change that did not move it itself. The sync (and
// the app) always set updated_at, so testing that in the trigger's WHEN clause spares a PL/pgSQL call
// per row for them: the function still runs, as before, for writers that leave updated_at alone.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER users_touch_updated_at ON users');
  await knex.raw(`
    CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users
    FOR EACH ROW WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at)
    EXECUTE FUNCTION users_touch_updated_at()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER users_touch_updated_at ON users');
  await knex.raw(`
    CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_touch_updated_at()`);
}
