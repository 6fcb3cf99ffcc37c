import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_ADMIN, TEST_SECRETS, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, insertUsers, runRow } from '../support/sync-fixtures';

const ROOT = path.resolve(import.meta.dirname, '../..');

let database: TestDatabase;
let t: TestApp;
let remote: LaravelServer;
let devId: number;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run sync -- …` as a real process on the test database: only PATH is inherited. */
function syncCli(...args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sync.ts', ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      ...TEST_SECRETS,
      ...REMOTE_ENV,
      REMOTE_ALLOWED_HOSTS: '127.0.0.1',
      REMOTE_RETRIES: '0',
      SYNC_DEACTIVATE_GUARD_MIN: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const as = ['--as', TEST_ADMIN.email];

beforeAll(async () => {
  database = await createTestDatabase();
  remote = await startLaravelServer({
    users: [
      { id: 1, name: 'Keep One', email: 'keep1@dev.test', role: 'vendor', is_active: true },
      { id: 2, name: 'New Person', email: 'new@dev.test', role: '=1+1', is_active: true },
    ],
  });
  t = await buildTestApp(database, REMOTE_ENV);
  devId = await addLocation(database.db, 'DEV', remote.url);
  await insertUsers(database.db, devId, [
    { email: 'keep1@dev.test', name: 'Keep One', role: 'vendor', remote_id: '1' },
    { email: 'gone1@dev.test', name: 'Gone One', role: 'vendor', remote_id: '8' },
    { email: 'gone2@dev.test', name: 'Gone Two', role: 'vendor', remote_id: '9' },
  ]);
  await addLocation(database.db, 'DOWN', 'http://127.0.0.1:9');
});
afterAll(async () => {
  await t.close();
  await remote.close();
  await database.drop();
});

describe('npm run sync (the CLI, as a real process)', () => {
  let runId: number;

  it('when asked for help, then every command explains itself and exits 0', async () => {
    const main = await syncCli('--help');
    expect(main.code).toBe(0);
    expect(main.stdout).toContain(
      'Exit codes: 0 done, 1 failure, 2 the guard needs --confirm <CODE>, 3 the preview is stale, expired or superseded.',
    );
    const commands = ['preview', 'execute', 'show', 'runs', 'export', 'revert'];
    const helps = await Promise.all(commands.map((command) => syncCli(command, '--help')));
    for (const [k, command] of commands.entries()) {
      const help = helps[k]!;
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toContain(`Usage: npm run sync -- ${command}`);
      expect(help.stdout).toContain('--as <email>');
    }
  });

  it('when --as is missing or names no admin, then it refuses with exit 1 and changes nothing', async () => {
    const [missing, stranger, unknown] = await Promise.all([
      syncCli('preview', 'DEV'),
      syncCli('preview', 'DEV', '--as', 'keep1@dev.test'),
      syncCli('launch', ...as),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--as <email> is required');
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toContain('--as keep1@dev.test: no active admin of this instance');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown command "launch"');
    expect(await database.db('sync_runs').count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('when previewing, then it prints the counts and the run id, and the audit says via CLI', async () => {
    const result = await syncCli('preview', 'dev', ...as, '--json');
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as { id: number; status: string; counts: Record<string, number>; guardRequired: boolean };
    runId = printed.id;
    expect(printed).toMatchObject({
      status: 'previewed',
      guardRequired: true,
      counts: { remote: 2, new: 1, update: 0, deactivate: 2, unchanged: 1 },
    });
    const row = await runRow(database.db, runId);
    const admin = await database.db('users').where({ email: TEST_ADMIN.email }).first();
    expect(row).toMatchObject({ status: 'previewed', previewed_by: admin.id, previewed_via: 'cli' });
  });

  it('when the guard asks for the code, then execute exits 2 until --confirm names the location, then 0', async () => {
    const refused = await syncCli('execute', String(runId), ...as);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--confirm DEV');
    expect((await runRow(database.db, runId)).status).toBe('previewed');
    expect(await database.db('users').where({ email: 'gone1@dev.test' }).first()).toMatchObject({ is_active: true });
    // The code exactly as shown: lower case is another code.
    const lowerCase = await syncCli('execute', String(runId), ...as, '--confirm', 'dev');
    expect(lowerCase.code).toBe(2);
    expect((await runRow(database.db, runId)).status).toBe('previewed');

    const done = await syncCli('execute', String(runId), ...as, '--confirm', 'DEV');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(`Run ${runId} executed: 1 added, 0 updated, 2 deactivated`);
    const admin = await database.db('users').where({ email: TEST_ADMIN.email }).first();
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed', executed_by: admin.id, executed_via: 'cli' });
    expect(await database.db('users').where({ email: 'gone1@dev.test' }).first()).toMatchObject({ is_active: false });
  });

  it('when the web pages show the run, then they say it was previewed and executed via CLI', async () => {
    const run = await t.container.services.userSync.findRun(runId);
    expect(run).toMatchObject({ previewedVia: 'cli', executedVia: 'cli' });
  });

  it('when a run is shown, listed and exported, then the output matches the database', async () => {
    const [shown, text, listed, none, exported] = await Promise.all([
      syncCli('show', String(runId), ...as, '--json'),
      syncCli('show', String(runId), ...as),
      syncCli('runs', '--location', 'DEV', ...as, '--json'),
      syncCli('runs', '--location', 'DOWN', ...as),
      syncCli('export', String(runId), ...as),
    ]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      id: runId,
      location: 'DEV',
      status: 'completed',
      previewedVia: 'cli',
      executedVia: 'cli',
      executedBy: TEST_ADMIN.email,
    });

    expect(text.stdout).toContain(`executed by ${TEST_ADMIN.email} via CLI`);

    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ id: number }>).map((r) => r.id)).toEqual([runId]);
    expect(none.stdout.trim()).toBe('No sync runs of DOWN.');

    expect(exported.code, exported.stderr).toBe(0);
    const lines = exported.stdout.trim().split('\n');
    expect(lines[0]).toBe('category,reason,email,name,role,status,changes,reason_code');
    expect(lines.slice(1).sort()).toEqual([
      'deactivate,missing from DEV,gone1@dev.test,Gone One,vendor,inactive,is_active: true → false,remote_missing',
      'deactivate,missing from DEV,gone2@dev.test,Gone Two,vendor,inactive,is_active: true → false,remote_missing',
      "new,,new@dev.test,New Person,'=1+1,active,,",
    ]);
  });

  it('when the preview is expired or already used, then execute exits 3 (or 0 for a completed run) and changes nothing', async () => {
    // Something to change, so the fresh preview is an open one (with nothing to change it would end at once).
    await database.db('users').where({ email: 'new@dev.test' }).update({ name: 'Renamed Locally' });
    const fresh = JSON.parse((await syncCli('preview', 'DEV', ...as, '--json')).stdout) as { id: number };
    await database
      .db('sync_runs')
      .where({ id: fresh.id })
      .update({ expires_at: database.db.raw("now() - interval '1 minute'") });
    const expired = await syncCli('execute', String(fresh.id), ...as);
    expect(expired.code).toBe(3);
    expect(expired.stderr).toContain('expired');
    expect((await runRow(database.db, fresh.id)).status).toBe('expired');

    const again = await syncCli('execute', String(runId), ...as, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ runId, outcome: 'already-completed' });
  });

  it('when the remote cannot be reached, then preview exits 1, says why, and records the failed run via CLI', async () => {
    const result = await syncCli('preview', 'DOWN', ...as);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Preview \d+ of DOWN failed: .*DOWN/);
    const failed = await database.db('sync_runs').orderBy('id', 'desc').first();
    expect(failed).toMatchObject({ status: 'failed', previewed_via: 'cli' });
  });

  it('when a completed run is reverted, then revert prints the revert preview, execute applies it with the accepted conflicts, and a second revert is refused', async () => {
    await database.db('users').where({ location_id: devId, email: 'gone2@dev.test' }).update({ name: 'Gone Two, edited' });
    const planned = await syncCli('revert', String(runId), ...as, '--json');
    expect(planned.code, planned.stderr).toBe(0);
    const revert = JSON.parse(planned.stdout) as { id: number };
    expect(revert).toMatchObject({
      status: 'previewed',
      revertsRunId: runId,
      previewedVia: 'cli',
      // new@ was renamed locally by an earlier test, gone2@ just now: both are conflicts.
      counts: { update: 1, deactivate: 0, conflict: 2 },
    });
    const shown = await syncCli('show', String(revert.id), ...as);
    expect(shown.stdout).toContain(`revert of run ${runId}`);
    expect(shown.stdout).toContain('conflict 2 (left alone unless accepted)');

    const conflict = await database.db('sync_run_items').where({ sync_run_id: revert.id, kind: 'conflict', email: 'gone2@dev.test' }).first();
    const done = await syncCli('execute', String(revert.id), ...as, '--accept-conflicts', String(conflict.id));
    expect(done.code, done.stderr).toBe(0);
    expect(await runRow(database.db, revert.id)).toMatchObject({ status: 'completed', executed_via: 'cli', update_count: 2, conflict_count: 1 });
    const users = await database.db('users').where({ location_id: devId }).orderBy('email').select('email', 'name', 'is_active');
    expect(users).toEqual([
      { email: 'gone1@dev.test', name: 'Gone One', is_active: true },
      { email: 'gone2@dev.test', name: 'Gone Two, edited', is_active: true },
      { email: 'keep1@dev.test', name: 'Keep One', is_active: true },
      { email: 'new@dev.test', name: 'Renamed Locally', is_active: true },
    ]);

    const again = await syncCli('revert', String(runId), ...as);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`This sync was reverted by #${revert.id}`);
    const unknown = await syncCli('revert', 'abc', ...as);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Not a run id: abc');
  });
});
