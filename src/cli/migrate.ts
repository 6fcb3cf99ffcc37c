import 'dotenv/config';
import readline from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { JobQueue } from '../platform/db/job-queue';
import { describeDatabaseUrl } from '../platform/db/knex';
import {
  BASELINE,
  RollbackRefusedError,
  isAdditive,
  migrateLatest,
  planRollback,
  readSchemaState,
  rollbackMigrations,
  unlockMigrations,
} from '../platform/db/migrate';
import { RETENTION_QUEUE } from '../sync/retention.service';
import { runCli } from './cli-support';

const USAGE = `Usage:
  npm run migrate                                    apply every pending migration (and the job queue's tables)
  npm run migrate -- status                          list the applied and pending migrations
  npm run migrate:rollback                           undo the last migration applied
  npm run migrate:rollback -- --to <name>            undo every migration applied after <name>
  npm run migrate -- unlock                          free the lock left by a migration that was stopped
A rollback asks for confirmation on a terminal; elsewhere add --yes. It never undoes the baseline
(the migrations up to ${BASELINE}, which hold the accounts and the audit trail).`;

const EXIT = { done: 0, failure: 1, usage: 2 } as const;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(EXIT.usage);
}

let command: string;
let values: { to?: string; yes?: boolean; help?: boolean };
try {
  const parsed = parseArgs({
    allowPositionals: true,
    options: { to: { type: 'string' }, yes: { type: 'boolean', short: 'y' }, help: { type: 'boolean', short: 'h' } },
  });
  values = parsed.values;
  if (parsed.positionals.length > 1) throw new Error(`One command at a time: ${parsed.positionals.join(' ')}`);
  command = parsed.positionals[0] ?? 'latest';
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
if (values.help) {
  console.log(USAGE);
  process.exit(EXIT.done);
}
if (!['latest', 'rollback', 'status', 'unlock'].includes(command)) fail(`Not a command: ${command}`);
if (command !== 'rollback' && (values.to !== undefined || values.yes)) fail('--to and --yes go with rollback only.');
// Decided before connecting: a rollback from a script or a pipe must say --yes, whatever it would undo.
if (command === 'rollback' && !values.yes && !process.stdin.isTTY) {
  console.error('Refusing to roll back without confirmation: run it on a terminal, or add --yes (`npm run migrate:rollback -- --yes`).');
  process.exit(EXIT.usage);
}

async function confirm(question: string): Promise<boolean> {
  const prompt = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return ['yes', 'y'].includes((await prompt.question(question)).trim().toLowerCase());
  } finally {
    prompt.close();
  }
}

const list = (names: string[]) => names.map((name) => `  ${name}`).join('\n') || '  (none)';

// It changes the schema and nothing else: no session or token is signed, so no secret is needed.
await runCli(
  async ({ config, db }) => {
    switch (command) {
      case 'latest': {
        const applied = await migrateLatest(db);
        await JobQueue.install(db, [RETENTION_QUEUE]);
        console.log(applied.length > 0 ? `Applied:\n${list(applied)}` : 'Already up to date.');
        const { ahead } = await readSchemaState(db);
        if (ahead.length > 0) console.log(`The database also has migrations of a newer version:\n${list(ahead.map((m) => m.name))}`);
        return;
      }
      case 'rollback': {
        let undo: string[];
        try {
          undo = await planRollback(db, { to: values.to });
        } catch (error) {
          if (!(error instanceof RollbackRefusedError)) throw error;
          console.error(error.message);
          process.exitCode = EXIT.failure;
          return;
        }
        if (undo.length === 0) {
          console.log('Nothing to roll back.');
          return;
        }
        const where = config.database.url ? describeDatabaseUrl(config.database.url) : 'the embedded PostgreSQL';
        if (!values.yes) {
          const question = `Roll back ${undo.length} migration(s) on ${where}, newest first:\n${list(undo)}\nWhat they added is dropped. Type yes to go on: `;
          if (!(await confirm(question))) {
            console.error('Nothing rolled back.');
            process.exitCode = EXIT.usage;
            return;
          }
        }
        console.log(`Rolled back:\n${list(await rollbackMigrations(db, undo))}`);
        return;
      }
      case 'status': {
        const state = await readSchemaState(db);
        console.log(`Applied (${state.applied.length}):\n${list(state.applied)}`);
        const pending = state.pending.map((name) => `${name} (${isAdditive(name) ? 'additive' : 'not additive: stop every instance first'})`);
        console.log(`Pending (${state.pending.length}):\n${list(pending)}`);
        if (state.ahead.length > 0) {
          const ahead = state.ahead.map((m) => `${m.name} (${m.additive ? 'additive' : 'not additive'})`);
          console.log(`Of a newer version (${state.ahead.length}):\n${list(ahead)}`);
        }
        if (state.locked) console.log('Locked: a migration is running, or one was stopped (`npm run migrate -- unlock` when none runs).');
        return;
      }
      case 'unlock': {
        console.log((await unlockMigrations(db)) ? 'The migrations lock was taken: it is free now.' : 'The migrations lock was already free.');
      }
    }
  },
  { secrets: false },
);
