import type { Knex } from 'knex';

/** The tables whose content an attack or a fault must leave as it was. */
export const GUARDED_TABLES = ['users', 'locations', 'sync_runs', 'sync_run_items'] as const;

/**
 * Every row of the given tables, in a stable order, as plain JSON: compare two of them with toEqual
 * to show that a request or a fault changed nothing.
 */
export async function snapshotTables(db: Knex, tables: readonly string[] = GUARDED_TABLES): Promise<Record<string, unknown[]>> {
  const snapshot: Record<string, unknown[]> = {};
  for (const table of tables) {
    const rows = await db(table).select('*').orderBy('id');
    snapshot[table] = JSON.parse(JSON.stringify(rows)) as unknown[];
  }
  return snapshot;
}
