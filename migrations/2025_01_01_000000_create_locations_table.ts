import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('locations', (table) => {
    table.increments('id');
    table.string('code', 32).notNullable().unique();
    table.string('name', 200).notNullable();
    table.string('online_url', 2048).nullable();
    table.boolean('is_active').notNullable().defaultTo(true);
    table.timestamps(true, true);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('locations');
}
