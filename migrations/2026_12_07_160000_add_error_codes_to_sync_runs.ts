import type { Knex } from 'knex';

// A run that failed on its remote keeps the failure as a code and its parameters (src/remote/remote-failures.ts)
// beside the English of `error`, so that its page and the history say it in the admin's language. Runs
// that failed before keep only their English, shown as it is.
/** Only a nullable column: the previous version runs on the schema as it was. */
export const additive = true;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (table) => {
    table.text('error_code').nullable();
    table.jsonb('error_params').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (table) => {
    table.dropColumn('error_params');
    table.dropColumn('error_code');
  });
}
