import 'dotenv/config';
import { migrateLatest, migrateRollback, migratorConfig } from '../platform/db/migrate';
import { runCli } from './cli-support';

const USAGE = `Usage:
  npm run migrate                      apply every pending migration
  npm run migrate:rollback             undo the last batch of migrations
  npm run migrate:rollback -- --all    undo every migration
  npx tsx src/cli/migrate.ts status    list applied and pending migrations`;

const [command = 'latest', ...rest] = process.argv.slice(2);
if (!['latest', 'rollback', 'status'].includes(command)) {
  console.error(USAGE);
  process.exit(2);
}

await runCli(async ({ db }) => {
  switch (command) {
    case 'latest': {
      const applied = await migrateLatest(db);
      console.log(applied.length > 0 ? `Applied:\n  ${applied.join('\n  ')}` : 'Already up to date.');
      return;
    }
    case 'rollback': {
      const rolledBack = await migrateRollback(db, rest.includes('--all'));
      console.log(rolledBack.length > 0 ? `Rolled back:\n  ${rolledBack.join('\n  ')}` : 'Nothing to roll back.');
      return;
    }
    case 'status': {
      const [applied, pending] = (await db.migrate.list(migratorConfig)) as [Array<{ name: string }>, Array<[string]>];
      console.log(`Applied (${applied.length}):\n  ${applied.map((m) => m.name).join('\n  ') || '(none)'}`);
      console.log(`Pending (${pending.length}):\n  ${pending.map(([name]) => name).join('\n  ') || '(none)'}`);
    }
  }
});
