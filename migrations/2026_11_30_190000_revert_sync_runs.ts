import type { Knex } from 'knex';

// Issue 19: a completed run can be reverted by a run of its own (run_type 'revert', reverts_run_id), whose
// plan holds 'conflict' items for the users changed since the reverted run. The status and kind lists are
// the canonical ones shared by every migration that touches them, so any landing order ends the same.

const STATUSES = [
  'queued',
  'previewing',
  'previewed',
  'no_change',
  'executing',
  'completed',
  'failed',
  'expired',
  'discarded',
  'superseded',
  'cancelled',
];
const KINDS = ['new', 'update', 'linked', 'deactivate', 'rejected', 'conflict'];

const inList = (values: string[]) => values.map((v) => `'${v}'`).join(', ');

async function replaceCheck(knex: Knex, table: string, column: string, values: string[]): Promise<void> {
  await knex.raw(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${table}_${column}_check`);
  await knex.raw(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_${column}_check CHECK (${column} IN (${inList(values)}))`);
}

export async function up(knex: Knex): Promise<void> {
  await replaceCheck(knex, 'sync_runs', 'status', STATUSES);
  await replaceCheck(knex, 'sync_run_items', 'kind', KINDS);
  // Other helpers' migrations may add the same columns: each adds only what is missing.
  if (!(await knex.schema.hasColumn('sync_runs', 'run_type'))) {
    await knex.schema.alterTable('sync_runs', (table) => {
      table.text('run_type').notNullable().defaultTo('sync');
    });
    await knex.raw(`ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_run_type_check CHECK (run_type IN ('sync', 'drift', 'revert'))`);
  }
  if (!(await knex.schema.hasColumn('sync_runs', 'reverts_run_id'))) {
    await knex.schema.alterTable('sync_runs', (table) => {
      table.integer('reverts_run_id').nullable().references('id').inTable('sync_runs').onDelete('SET NULL');
      // The run page asks "reverted by?": one index lookup.
      table.index(['reverts_run_id']);
    });
  }
  await knex.schema.alterTable('sync_runs', (table) => {
    table.integer('conflict_count').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (table) => {
    table.dropColumn('conflict_count');
  });
  // A revert's plan means nothing to the older code: its runs go, with their items (the delete trigger).
  // run_type and reverts_run_id stay when another migration may own them; reverts_run_id is this one's.
  await knex('sync_runs').where('run_type', 'revert').delete();
  await knex.schema.alterTable('sync_runs', (table) => {
    table.dropColumn('reverts_run_id');
  });
  // The status and kind lists stay the canonical ones: the migrations before this one (2026_11_30_140000
  // and 160000) already had them, and their own rollbacks narrow them.
}
