import type { Knex } from 'knex';

// Syncs run as background jobs: a run is queued, then previewing or executing on some instance, with its
// live progress in a row of its own (the preview's REPEATABLE READ transaction updates the run row at its
// end, so progress written there meanwhile would make it fail to serialize). Drift checks are runs of
// their own type, scheduled per location.

/** The canonical status list every helper's migration writes in full (see the shared schema conventions). */
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
const PREVIOUS_STATUSES = ['previewed', 'executing', 'completed', 'failed', 'expired'];
const ACTIVE_STATUSES = ['queued', 'previewing', 'executing'];

const quoted = (values: string[]) => values.map((v) => `'${v}'`).join(', ');

async function replaceStatusCheck(knex: Knex, statuses: string[]): Promise<void> {
  await knex.raw('ALTER TABLE sync_runs DROP CONSTRAINT IF EXISTS sync_runs_status_check');
  await knex.raw(`ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_status_check CHECK (status IN (${quoted(statuses)}))`);
}

export async function up(knex: Knex): Promise<void> {
  await replaceStatusCheck(knex, STATUSES);
  if (!(await knex.schema.hasColumn('sync_runs', 'run_type'))) {
    await knex.schema.alterTable('sync_runs', (table) => {
      table.text('run_type').notNullable().defaultTo('sync');
    });
    await knex.raw(`ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_run_type_check CHECK (run_type IN ('sync', 'drift', 'revert'))`);
  }
  // 'executing' had no meaning before: no run can be caught in it, but the index below must be buildable.
  await knex('sync_runs').where('status', 'executing').update({ status: 'failed', error: 'Interrupted before jobs existed.' });
  // One sync job per location at a time, whichever instance asked: the database refuses a second one.
  await knex.raw(`CREATE UNIQUE INDEX sync_runs_one_active_per_location ON sync_runs (location_id) WHERE status IN (${quoted(ACTIVE_STATUSES)})`);

  await knex.schema.createTable('sync_run_progress', (table) => {
    table.integer('sync_run_id').primary().references('id').inTable('sync_runs').onDelete('CASCADE');
    /** queued, signing_in, fetching, planning, executing: what the run is doing now. */
    table.text('phase').notNullable().defaultTo('queued');
    table.integer('pages_fetched').notNullable().defaultTo(0);
    table.integer('users_fetched').notNullable().defaultTo(0);
    table.integer('pages_total').nullable();
    table.integer('users_total').nullable();
    /** The job engine's id of the job running the run, to fail it when its instance died. */
    table.uuid('job_id').nullable();
    /** host:pid of the instance running it. */
    table.text('worker').nullable();
    table.integer('attempt').notNullable().defaultTo(0);
    /** The admin who asked for the job (the execute's executor, recorded when it completes). */
    table.integer('requested_by').nullable().references('id').inTable('users').onDelete('SET NULL');
    table.timestamp('started_at', { useTz: true }).nullable();
    /** Written while the run's worker lives; a stale one lets another instance take over. */
    table.timestamp('heartbeat_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('cancel_requested_at', { useTz: true }).nullable();
  });

  await knex.schema.alterTable('locations', (table) => {
    /** A cron expression for the drift check; null: no scheduled check (the default). */
    table.text('drift_cron').nullable();
    /** When the schedule last started a check (or was set): the next one is the first cron time after it. */
    table.timestamp('drift_checked_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('locations', (table) => {
    table.dropColumn('drift_cron');
    table.dropColumn('drift_checked_at');
  });
  await knex.schema.dropTable('sync_run_progress');
  await knex.raw('DROP INDEX IF EXISTS sync_runs_one_active_per_location');
  // Drift reports do not exist below this migration. run_type stays: another migration may have added it
  // (each adds it only when missing), and a column with a default harms no older code.
  await knex('sync_runs').where('run_type', 'drift').delete();
  await knex('sync_runs').whereNotIn('status', PREVIOUS_STATUSES).update({ status: 'failed' });
  await replaceStatusCheck(knex, PREVIOUS_STATUSES);
}
