import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index';
import { BASELINE } from '../../src/platform/db/migrate';
import { createTestDatabase, type TestDatabase } from '../support/database';

const run = promisify(execFile);
const names = migrations.map(([name]) => name);
const afterBaseline = names.slice(names.indexOf(BASELINE) + 1);

/**
 * An npm script as an operator runs it, with no terminal (stdin is not a TTY) and only the database URL:
 * in production, without SESSION_SECRET or JWT_SECRET, which migrating does not use.
 */
async function npmRun(script: string, args: string[], databaseUrl: string) {
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', DATABASE_URL: databaseUrl },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** `npm run migrate:rollback` on a terminal (a pseudo-terminal from util-linux's script), answering its question. */
async function rollbackOnTerminal(databaseUrl: string, answer: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('script', ['-qec', 'npm run --silent migrate:rollback', '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', DATABASE_URL: databaseUrl, TERM: 'dumb' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let answered = false;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (!answered && output.includes('Type yes to go on:')) {
      answered = true;
      child.stdin.write(`${answer}\n`);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}

let database: TestDatabase;
const applied = async () => (await database.db('knex_migrations').orderBy('id').pluck('name')) as string[];

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
});
afterAll(async () => {
  await database.drop();
});

describe('npm run migrate', () => {
  it('applies every migration and the job queue tables, in production without SESSION_SECRET or JWT_SECRET', async () => {
    const first = await npmRun('migrate', [], database.url);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Applied:\n  ${names.join('\n  ')}`);
    expect(await applied()).toEqual(names);
    // pg-boss's schema and Sinkron's queues: an app without DDL rights finds them there.
    expect((await database.db('pgboss.queue').orderBy('name').pluck('name')) as string[]).toEqual([
      'sinkron-drift-tick',
      'sinkron-retention',
      'sinkron-sync',
    ]);
    // Each applied migration's additivity, for an older version to read.
    expect(await database.db('sinkron_migrations').where({ name: '2026_12_07_200000_record_additive_migrations' }).first()).toMatchObject({
      additive: true,
    });
    expect(await database.db('sinkron_migrations').where({ name: BASELINE }).first()).toMatchObject({ additive: false });

    expect((await npmRun('migrate', [], database.url)).stdout).toContain('Already up to date.');
    const status = await npmRun('migrate', ['status'], database.url);
    expect(status.stdout).toContain(`Applied (${names.length}):`);
    expect(status.stdout).toContain('Pending (0):');
  });
});

describe('npm run migrate:rollback', () => {
  it('refuses without a terminal and without --yes (exit 2), and changes nothing', async () => {
    const refused = await npmRun('migrate:rollback', [], database.url);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Refusing to roll back without confirmation: run it on a terminal, or add --yes');
    expect(await applied()).toEqual(names);
  });

  it('with --yes undoes one migration, the last one applied (a fresh install has them all in one batch)', async () => {
    const one = await npmRun('migrate:rollback', ['--yes'], database.url);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe(`Rolled back:\n  ${names.at(-1)}\n`);
    expect(await applied()).toEqual(names.slice(0, -1));
    expect(await database.db.schema.hasTable('users')).toBe(true);
    expect((await npmRun('migrate', ['status'], database.url)).stdout).toContain(`Pending (1):\n  ${names.at(-1)} (additive)`);
    expect((await npmRun('migrate', [], database.url)).code).toBe(0);
  });

  it('on a terminal asks first: anything but yes rolls nothing back, yes rolls the last one back', async () => {
    const declined = await rollbackOnTerminal(database.url, 'no');
    expect(declined.output).toContain(`Roll back 1 migration(s) on 127.0.0.1:`);
    expect(declined.output).toContain(names.at(-1));
    expect(declined.output).toContain('Nothing rolled back.');
    expect(declined.code).toBe(2);
    expect(await applied()).toEqual(names);

    const confirmed = await rollbackOnTerminal(database.url, 'yes');
    expect(confirmed.code).toBe(0);
    expect(confirmed.output).toContain(`Rolled back:\r\n  ${names.at(-1)}`);
    expect(await applied()).toEqual(names.slice(0, -1));
    expect((await npmRun('migrate', [], database.url)).code).toBe(0);
  });

  it('--to <name> undoes every migration after it, and never one of the baseline', async () => {
    const inside = await npmRun('migrate:rollback', ['--to', names[0]!, '--yes'], database.url);
    expect(inside.code).toBe(1);
    expect(inside.stderr).toContain(`--to ${names[0]}: that migration is inside the baseline; a rollback goes back to ${BASELINE} at most.`);
    expect(await applied()).toEqual(names);

    const toBaseline = await npmRun('migrate:rollback', ['--to', BASELINE, '--yes'], database.url);
    expect(toBaseline.code).toBe(0);
    expect(toBaseline.stdout).toBe(`Rolled back:\n  ${[...afterBaseline].reverse().join('\n  ')}\n`);
    expect(await applied()).toEqual(names.slice(0, names.indexOf(BASELINE) + 1));

    const past = await npmRun('migrate:rollback', ['--yes'], database.url);
    expect(past.code).toBe(1);
    expect(past.stderr).toContain(`Refusing to roll back ${BASELINE}: it is part of the baseline`);
    expect(await database.db.schema.hasTable('users')).toBe(true);
    expect(await database.db.schema.hasTable('sync_runs')).toBe(true);
    expect((await npmRun('migrate:rollback', ['--all', '--yes'], database.url)).code).toBe(2);
    expect(await applied()).toEqual(names.slice(0, names.indexOf(BASELINE) + 1));

    expect((await npmRun('migrate', [], database.url)).code).toBe(0);
    expect(await applied()).toEqual(names);
  });
});

describe('npm run migrate -- unlock', () => {
  it('frees the lock a stopped migration left; until then migrating says how', async () => {
    // As a migrate killed during a migration that runs outside a transaction leaves it: locked, the migration still pending.
    await database
      .db('knex_migrations')
      .where({ name: names.at(-1) })
      .del();
    await database.db('knex_migrations_lock').update({ is_locked: 1 });

    const locked = await npmRun('migrate', [], database.url);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain('The migrations are locked (knex_migrations_lock.is_locked = 1)');
    expect(locked.stderr).toContain('free the lock with `npm run migrate -- unlock`');
    expect(locked.stderr).not.toContain('knex migrate:unlock');

    const unlocked = await npmRun('migrate', ['unlock'], database.url);
    expect(unlocked.code).toBe(0);
    expect(unlocked.stdout).toContain('The migrations lock was taken: it is free now.');
    expect(await database.db('knex_migrations_lock').pluck('is_locked')).toEqual([0]);
    // The migration had created its table before it was killed: drop it as its rollback would.
    await database.db.schema.dropTable('sinkron_migrations');
    expect((await npmRun('migrate', [], database.url)).code).toBe(0);
    expect(await applied()).toEqual(names);
  });
});
