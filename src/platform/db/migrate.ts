import type { Knex } from 'knex';
import { migrations } from '../../../migrations/index';

type Migration = (typeof migrations)[number];

const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

export const migratorConfig: Knex.MigratorConfig = { migrationSource, tableName: 'knex_migrations' };

/**
 * The last migration of the baseline: the first migrations, which create the core tables (locations,
 * users, sessions, sync runs). No rollback undoes it or one before it: that would drop the accounts and
 * the audit trail; a backup restores those.
 */
export const BASELINE = '2025_11_20_000000_create_sync_runs_tables';

/**
 * Where each migration run records which applied migrations are additive (see migrations/index.ts): an
 * older version cannot read the migration files of a newer one, only this table, to know whether it may
 * run on their schema.
 */
const NOTES_TABLE = 'sinkron_migrations';

const HOW_TO_UNLOCK =
  'The migrations are locked (knex_migrations_lock.is_locked = 1): a migration is running, or one was stopped while it ran. ' +
  'Wait for a running `npm run migrate` to end; when none runs, free the lock with `npm run migrate -- unlock`.';

export interface SchemaState {
  /** Applied migrations, in the order they were applied. */
  applied: string[];
  /** Migrations of this version not applied yet, in order. */
  pending: string[];
  /** Applied migrations this version does not know (a newer version made them), and whether that version marked them additive. */
  ahead: Array<{ name: string; additive: boolean }>;
  locked: boolean;
}

/** Why this version cannot run on the schema: migrations pending, or newer ones it does not know that are not additive. */
export class SchemaMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaMismatchError';
  }
}

export class RollbackRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RollbackRefusedError';
  }
}

const knownNames = () => migrations.map(([name]) => name);
/** Whether a migration of this version is marked additive (`export const additive = true` in its file). */
export const isAdditive = (name: string): boolean => migrations.find(([known]) => known === name)?.[1].additive === true;

export async function readSchemaState(db: Knex): Promise<SchemaState> {
  const [tables] = (
    await db.raw<{ rows: Array<{ migrations: boolean; lock: boolean; notes: boolean }> }>(
      `SELECT to_regclass('knex_migrations') IS NOT NULL AS migrations, to_regclass('knex_migrations_lock') IS NOT NULL AS lock,
              to_regclass(?) IS NOT NULL AS notes`,
      [NOTES_TABLE],
    )
  ).rows;
  const applied = tables!.migrations
    ? (await db('knex_migrations').orderBy('id').select<Array<{ name: string }>>('name')).map((row) => row.name)
    : [];
  const additive = new Set(
    tables!.notes ? (await db(NOTES_TABLE).where({ additive: true }).select<Array<{ name: string }>>('name')).map((row) => row.name) : [],
  );
  const locked = tables!.lock
    ? ((await db('knex_migrations_lock').max<{ locked: number | null }>('is_locked as locked').first())?.locked ?? 0) === 1
    : false;
  const known = new Set(knownNames());
  const done = new Set(applied);
  return {
    applied,
    pending: knownNames().filter((name) => !done.has(name)),
    ahead: applied.filter((name) => !known.has(name)).map((name) => ({ name, additive: additive.has(name) })),
    locked,
  };
}

/** What keeps this version from running on the schema, in words for the operator; undefined when it can run. */
export function schemaMismatch(state: SchemaState): string | undefined {
  const newer = state.ahead.filter((migration) => !migration.additive).map((migration) => migration.name);
  if (newer.length > 0) {
    return (
      `The database schema is newer than this version of Sinkron: it has ${newer.length} migration(s) this version does not know, ` +
      `not marked additive (${newer.join(', ')}). Run the newer version, or first roll those back with the newer version's \`npm run migrate:rollback\`.`
    );
  }
  if (state.pending.length > 0) {
    return (
      `The database schema is behind this version of Sinkron: ${state.pending.length} migration(s) pending (${state.pending.join(', ')}). ` +
      'Run `npm run migrate` (with the database owner role) first.'
    );
  }
  return undefined;
}

/**
 * Makes the schema fit this version at start: applies the pending migrations when `migrate` allows,
 * otherwise refuses a schema that is behind. A schema ahead of this version (a newer one migrated it) is
 * fine when every extra migration is additive: then nothing is migrated, as knex would refuse a list it
 * lacks files of. Returns the migrations applied, and those of a newer version it runs with.
 */
export async function prepareSchema(db: Knex, options: { migrate: boolean }): Promise<{ applied: string[]; ahead: string[] }> {
  const state = await readSchemaState(db);
  const ahead = state.ahead.map((migration) => migration.name);
  if (state.pending.length > 0 && options.migrate) return { applied: await migrateLatest(db, state), ahead };
  const mismatch = schemaMismatch(state);
  if (mismatch) throw new SchemaMismatchError(mismatch);
  return { applied: [], ahead };
}

/** Applies every pending migration (the operator's `npm run migrate`), then records which applied ones are additive. */
export async function migrateLatest(db: Knex, known?: SchemaState): Promise<string[]> {
  const state = known ?? (await readSchemaState(db));
  if (state.pending.length === 0) {
    await recordAdditive(db);
    return [];
  }
  if (state.ahead.length > 0) {
    throw new SchemaMismatchError(
      `The database schema has migrations this version does not know (${state.ahead.map((m) => m.name).join(', ')}) and lacks some it has ` +
        `(${state.pending.join(', ')}): another version migrated it. Run that version, or roll its migrations back with it.`,
    );
  }
  // Checked first: knex would only log a hint that names a command this project does not have.
  if (state.locked) throw new Error(HOW_TO_UNLOCK);
  let applied: string[];
  try {
    [, applied] = (await db.migrate.latest(migratorConfig)) as [number, string[]];
  } catch (error) {
    if ((error as Error).name === 'MigrationLocked') throw new Error(HOW_TO_UNLOCK, { cause: error });
    throw error;
  }
  await recordAdditive(db);
  return applied;
}

/** Writes, for every applied migration this version knows, whether it is additive; drops the rows of those no longer applied. */
async function recordAdditive(db: Knex): Promise<void> {
  if (!(await db.schema.hasTable(NOTES_TABLE))) return;
  const known = new Set(knownNames());
  const applied = (await db('knex_migrations').select<Array<{ name: string }>>('name')).map((row) => row.name).filter((name) => known.has(name));
  await db.transaction(async (trx) => {
    await trx(NOTES_TABLE).whereNotIn('name', trx('knex_migrations').select('name')).del();
    if (applied.length === 0) return;
    await trx(NOTES_TABLE)
      .insert(applied.map((name) => ({ name, additive: isAdditive(name) })))
      .onConflict('name')
      .merge(['additive']);
  });
}

/**
 * The migrations a rollback would undo, newest first: the last one applied, or (`to`) every one applied
 * after that migration. Never one of the baseline, nor a migration this version does not know.
 */
export async function planRollback(db: Knex, options: { to?: string } = {}): Promise<string[]> {
  const state = await readSchemaState(db);
  if (state.ahead.length > 0) {
    throw new RollbackRefusedError(
      `The database has migrations this version does not know (${state.ahead.map((m) => m.name).join(', ')}): roll those back with the version that made them first.`,
    );
  }
  const names = knownNames();
  const baseline = new Set(names.slice(0, names.indexOf(BASELINE) + 1));
  let undo: string[];
  if (options.to === undefined) {
    undo = state.applied.slice(-1);
  } else {
    const at = state.applied.indexOf(options.to);
    if (!names.includes(options.to))
      throw new RollbackRefusedError(`--to ${options.to}: no migration has that name (npm run migrate -- status lists them).`);
    if (at === -1) throw new RollbackRefusedError(`--to ${options.to}: that migration is not applied.`);
    if (baseline.has(options.to) && options.to !== BASELINE) {
      throw new RollbackRefusedError(`--to ${options.to}: that migration is inside the baseline; a rollback goes back to ${BASELINE} at most.`);
    }
    undo = state.applied.slice(at + 1).reverse();
  }
  const intoBaseline = undo.filter((name) => baseline.has(name));
  if (intoBaseline.length > 0) {
    throw new RollbackRefusedError(
      `Refusing to roll back ${intoBaseline.join(', ')}: it is part of the baseline (up to ${BASELINE}), which holds the accounts and the audit trail. ` +
        'To go back further, restore a backup taken before the upgrade.',
    );
  }
  return undo;
}

/** Undoes the given migrations one by one, in the order given (planRollback's). */
export async function rollbackMigrations(db: Knex, names: string[]): Promise<string[]> {
  if (names.length > 0 && (await readSchemaState(db)).locked) throw new Error(HOW_TO_UNLOCK);
  const undone: string[] = [];
  for (const name of names) {
    try {
      await db.migrate.down({ ...migratorConfig, name });
    } catch (error) {
      if ((error as Error).name === 'MigrationLocked') throw new Error(HOW_TO_UNLOCK, { cause: error });
      throw error;
    }
    undone.push(name);
  }
  await recordAdditive(db);
  return undone;
}

/** Frees the lock a killed migration left (`npm run migrate -- unlock`); true when it was taken. */
export async function unlockMigrations(db: Knex): Promise<boolean> {
  const { locked } = await readSchemaState(db);
  await db.migrate.forceFreeMigrationsLock(migratorConfig);
  return locked;
}
