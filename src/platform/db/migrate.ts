import type { Knex } from 'knex';
import { migrations } from '../../../migrations/index';

type Migration = (typeof migrations)[number];

const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

export const migratorConfig: Knex.MigratorConfig = { migrationSource, tableName: 'knex_migrations' };

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = await db.migrate.latest(migratorConfig);
  return applied;
}

export async function migrateRollback(db: Knex, all = false): Promise<string[]> {
  const [, rolledBack] = await db.migrate.rollback(migratorConfig, all);
  return rolledBack;
}
