import type { Knex } from 'knex';

// Issue 14: a preview records where its list came from (so execute can refuse a preview whose source
// changed), every way a preview ends is a status of its own, and a change that only records a local
// user's remote id is its own kind of item ('linked'). The status and kind lists are the canonical ones
// shared by every migration that touches them, so any landing order leaves the same constraints.

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

/** What the constraints allowed before this migration. */
const PREVIOUS_STATUSES = ['previewed', 'executing', 'completed', 'failed', 'expired'];
const PREVIOUS_KINDS = ['new', 'update', 'deactivate', 'rejected'];

const inList = (values: string[]) => values.map((v) => `'${v}'`).join(', ');

async function replaceCheck(knex: Knex, table: string, column: string, values: string[]): Promise<void> {
  await knex.raw(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${table}_${column}_check`);
  await knex.raw(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_${column}_check CHECK (${column} IN (${inList(values)}))`);
}

export async function up(knex: Knex): Promise<void> {
  await replaceCheck(knex, 'sync_runs', 'status', STATUSES);
  await replaceCheck(knex, 'sync_run_items', 'kind', KINDS);
  await knex.schema.alterTable('sync_runs', (table) => {
    table.integer('linked_count').notNullable().defaultTo(0);
    /** Active users the location would have after execute (null on older runs); the guard reads it too. */
    table.integer('active_after_count').nullable();
    /** The source the preview read: the online URL, the API login (never the password), and its variables. */
    table.text('source_url').nullable();
    table.text('source_login').nullable();
    table.text('source_credential').nullable();
    table.timestamp('fetched_at', { useTz: true }).nullable();
    table.integer('discarded_by').nullable().references('id').inTable('users').onDelete('SET NULL');
    table.timestamp('discarded_at', { useTz: true }).nullable();
    /** Why a preview was superseded (its source changed), for the run's page and the audit. */
    table.text('superseded_reason').nullable();
    table.timestamp('superseded_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (table) => {
    table.dropColumn('superseded_at');
    table.dropColumn('superseded_reason');
    table.dropColumn('discarded_at');
    table.dropColumn('discarded_by');
    table.dropColumn('fetched_at');
    table.dropColumn('source_credential');
    table.dropColumn('source_login');
    table.dropColumn('source_url');
    table.dropColumn('active_after_count');
    table.dropColumn('linked_count');
  });
  // Rows in states the older lists do not know are mapped first, so the rollback never fails.
  await knex.raw(`UPDATE sync_run_items SET kind = 'update' WHERE kind = 'linked'`);
  await knex.raw(`UPDATE sync_run_items SET kind = 'rejected' WHERE kind NOT IN (${inList(PREVIOUS_KINDS)})`);
  await knex.raw(`UPDATE sync_runs SET status = 'failed' WHERE status NOT IN (${inList(PREVIOUS_STATUSES)})`);
  await replaceCheck(knex, 'sync_run_items', 'kind', PREVIOUS_KINDS);
  await replaceCheck(knex, 'sync_runs', 'status', PREVIOUS_STATUSES);
}
