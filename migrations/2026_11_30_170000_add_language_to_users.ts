import type { Knex } from 'knex';

// The page language an admin chose in the header, so it follows them to their next sign-in.
// Null: not chosen (the browser's Accept-Language, then DEFAULT_LANGUAGE, decide).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    table.string('language', 8).nullable();
    table.check("language IN ('id', 'en')", [], 'users_language_check');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    table.dropChecks('users_language_check');
    table.dropColumn('language');
  });
}
