import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sync_runs', (table) => {
    table.increments('id');
    table.integer('location_id').notNullable().references('id').inTable('locations').onDelete('RESTRICT');
    table
      .enu('status', ['previewed', 'executing', 'completed', 'failed', 'expired'])
      .notNullable();
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
    /** The local row as the preview saw it; the stale check compares against it. */
    table.jsonb('before').nullable();
    table.jsonb('after').nullable();
    table.timestamp('user_updated_at', { useTz: true }).nullable();
    table.text('reason').nullable();
    table.integer('remote_page').nullable();
    table.index(['sync_run_id', 'kind', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sync_run_items');
  await knex.schema.dropTable('sync_runs');
}
