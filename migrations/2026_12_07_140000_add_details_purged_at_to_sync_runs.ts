import type { Knex } from 'knex';

// Retention (AUDIT_RETENTION_DAYS) removes an old run's per-user items and unchanged-id array and keeps its
// summary row; this records when, so that the run's page says its details were removed rather than showing
// empty lists. Rolled back, the purged runs keep their summaries and simply lose the date.
/** Only a nullable column: the previous version runs on the schema as it was. */
export const additive = true;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (table) => {
    table.timestamp('details_purged_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (table) => {
    table.dropColumn('details_purged_at');
  });
}
