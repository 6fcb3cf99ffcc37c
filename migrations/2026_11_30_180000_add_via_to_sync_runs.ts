import type { Knex } from 'knex';

// The audit trail says how each step of a run was taken: in the admin pages or with `npm run sync`.
// A run can be previewed in one and executed in the other, so each step has its own column.
export async function up(knex: Knex): Promise<void> {
  // The metrics tell sync runs from drift checks by run_type (shared schema convention): whichever
  // migration needs it first adds it, the same way, so the other's guarded add is harmless.
  if (!(await knex.schema.hasColumn('sync_runs', 'run_type'))) {
    await knex.schema.alterTable('sync_runs', (table) => {
      table.text('run_type').notNullable().defaultTo('sync');
    });
    await knex.raw(`ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_run_type_check CHECK (run_type IN ('sync', 'drift', 'revert'))`);
  }
  await knex.schema.alterTable('sync_runs', (table) => {
    table.text('previewed_via').notNullable().defaultTo('web');
    table.text('executed_via').nullable();
  });
  await knex.raw(`UPDATE sync_runs SET executed_via = 'web' WHERE executed_at IS NOT NULL`);
  await knex.raw(`ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_previewed_via_check CHECK (previewed_via IN ('web', 'cli'))`);
  await knex.raw(`ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_executed_via_check CHECK (executed_via IN ('web', 'cli'))`);
}

// run_type stays: another migration may have added it and rely on it; adding it again is guarded.
export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (table) => {
    table.dropColumn('executed_via');
    table.dropColumn('previewed_via');
  });
}
