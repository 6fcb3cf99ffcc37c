import type { Knex } from 'knex';

// A preview writes all its plan items in one statement: 12,000 at 100,000 users. The foreign key to
// sync_runs checked them one row at a time (a lookup and a row lock each, a third of that statement);
// these triggers keep the same guarantees with one set-based check per statement: an item names an
// existing run, and deleting runs deletes their items.

const ITEM_WRITES = ['insert', 'update'] as const;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION sync_run_items_require_run() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      orphan bigint;
    BEGIN
      SELECT n.sync_run_id INTO orphan
      FROM (SELECT DISTINCT sync_run_id FROM new_items) n
      WHERE NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.id = n.sync_run_id FOR KEY SHARE)
      LIMIT 1;
      IF FOUND THEN
        RAISE foreign_key_violation USING MESSAGE = format('sync run %s does not exist', orphan),
          TABLE = 'sync_run_items', CONSTRAINT = 'sync_run_items_require_run';
      END IF;
      RETURN NULL;
    END
    $$`);
  // A trigger with a transition table fires on one event only: one for inserts, one for updates.
  for (const event of ITEM_WRITES) {
    await knex.raw(`
      CREATE TRIGGER sync_run_items_require_run_on_${event} AFTER ${event.toUpperCase()} ON sync_run_items
      REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT EXECUTE FUNCTION sync_run_items_require_run()`);
  }
  await knex.raw(`
    CREATE FUNCTION sync_runs_delete_items() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM sync_run_items WHERE sync_run_id IN (SELECT id FROM old_runs);
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE TRIGGER sync_runs_delete_items AFTER DELETE ON sync_runs
    REFERENCING OLD TABLE AS old_runs FOR EACH STATEMENT EXECUTE FUNCTION sync_runs_delete_items()`);
  await knex.raw('ALTER TABLE sync_run_items DROP CONSTRAINT sync_run_items_sync_run_id_foreign');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE sync_run_items ADD CONSTRAINT sync_run_items_sync_run_id_foreign
    FOREIGN KEY (sync_run_id) REFERENCES sync_runs (id) ON DELETE CASCADE`);
  await knex.raw('DROP TRIGGER sync_runs_delete_items ON sync_runs');
  await knex.raw('DROP FUNCTION sync_runs_delete_items()');
  for (const event of ITEM_WRITES) await knex.raw(`DROP TRIGGER sync_run_items_require_run_on_${event} ON sync_run_items`);
  await knex.raw('DROP FUNCTION sync_run_items_require_run()');
}
