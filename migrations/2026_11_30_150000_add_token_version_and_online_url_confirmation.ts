import type { Knex } from 'knex';

// users.token_version: bumped by a password reset; sessions and API tokens carry the version they were
// issued under, so a reset ends them all at once.
// locations.online_url_confirmed: false once an admin changes a location's online URL; Sinkron sends the
// location's credential there only after an admin confirmed the new URL with their password.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    table.integer('token_version').notNullable().defaultTo(0);
  });
  await knex.schema.alterTable('locations', (table) => {
    table.boolean('online_url_confirmed').notNullable().defaultTo(true);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('locations', (table) => {
    table.dropColumn('online_url_confirmed');
  });
  await knex.schema.alterTable('users', (table) => {
    table.dropColumn('token_version');
  });
}
