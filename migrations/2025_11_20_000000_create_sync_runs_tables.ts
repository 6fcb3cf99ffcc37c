import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sync_runs', (table) => {
    table.increments('id');
    table.integer('location_id').notNullable().references('id').inTable('locations').onDelete('RESTRICT');
    table.enu('status', ['previewed', 'executing', 'completed', 'failed', 'expired']).notNullable();
    table.integer('previewed_by').nullable().references('id').inTable('users').onDelete('SET NULL');
    table.integer('executed_by').nullable().references('id').inTable('users').onDelete('SET NULL');
    table.integer('remote_count').notNullable().defaultTo(0);
    table.integer('local_active_count').notNullable().defaultTo(0);
    table.integer('new_count').notNullable().defaultTo(0);
    table.integer('update_count').notNullable().defaultTo(0);
    table.integer('deactivate_count').notNullable().defaultTo(0);
    table.integer('unchanged_count').notNullable().defaultTo(0);
    table.integer('rejected_count').notNullable().defaultTo(0);
    table.boolean('guard_required').notNullable().defaultTo(false);
    table.text('error').nullable();
    table.integer('preview_ms').nullable();
    table.integer('execute_ms').nullable();
    table.timestamp('expires_at', { useTz: true }).nullable();
    table.timestamp('executed_at', { useTz: true }).nullable();
    table.timestamps(true, true);
    table.index(['location_id', 'id']);
  });

  await knex.schema.createTable('sync_run_items', (table) => {
    table.bigIncrements('id');
    table.integer('sync_run_id').notNullable().references('id').inTable('sync_runs').onDelete('CASCADE');
    table.enu('kind', ['new', 'update', 'deactivate', 'rejected']).notNullable();
    table.integer('user_id').nullable();
    table.string('email', 1024).nullable();
    /** The changed fields (plus email) as the preview saw them locally, and as they will be written. */
    table.jsonb('before').nullable();
    table.jsonb('after').nullable();
    /** The local row's updated_at at preview time; the stale check compares against it. */
    table.timestamp('user_updated_at', { useTz: true }).nullable();
    table.text('reason').nullable();
    /** For rejected rows: a short JSON excerpt of the remote row, for the admin to recognise it. */
    table.text('excerpt').nullable();
    table.integer('remote_page').nullable();
    table.index(['sync_run_id', 'kind', 'id']);
  });

  // The sync's stale check compares users.updated_at with what the preview saw. This makes every change
  // to a user move updated_at, also from writers that forget to set it (a console UPDATE, another tool).
  await knex.raw(`
    CREATE FUNCTION users_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at AND NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := clock_timestamp();
      END IF;
      RETURN NEW;
    END
    $$`);
  await knex.raw(`
    CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_touch_updated_at()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS users_touch_updated_at ON users');
  await knex.raw('DROP FUNCTION IF EXISTS users_touch_updated_at()');
  await knex.schema.dropTable('sync_run_items');
  await knex.schema.dropTable('sync_runs');
}
