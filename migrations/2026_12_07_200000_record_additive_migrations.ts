import type { Knex } from 'knex';

// An older version of Sinkron cannot read the migration files of a newer one, only the database. Each
// migration run writes here which applied migrations are additive, so that an old instance still running
// during a rolling upgrade knows it may go on with the newer schema instead of refusing it.
export const additive = true;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sinkron_migrations', (table) => {
    table.text('name').primary();
    table.boolean('additive').notNullable();
    table.timestamp('recorded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sinkron_migrations');
}
