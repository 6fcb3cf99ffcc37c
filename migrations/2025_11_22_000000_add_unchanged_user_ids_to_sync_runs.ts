import type { Knex } from 'knex';

// The preview lists its unchanged users too (folded away). One sorted id array per run instead of an item
// per user: a 100,000-user location is mostly unchanged, and the array costs one row write.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (table) => {
    table.specificType('unchanged_user_ids', 'integer[]').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (table) => {
    table.dropColumn('unchanged_user_ids');
  });
}
