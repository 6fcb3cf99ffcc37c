import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type Knex } from '../../src/platform/db/knex';
import { TEST_ADMIN, TEST_SECRETS } from '../support/app';
import { csrfFrom } from '../support/browser-session';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, insertUsers, runRow, waitForRun } from '../support/sync-fixtures';
import { startAppProcess, type AppProcess } from '../reliability/app-process';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const suffix = randomBytes(4).toString('hex');
const NAMES = { owner: `sinkron_owner_${suffix}`, app: `sinkron_app_${suffix}`, database: `sinkron_roles_${suffix}` };
const PASSWORDS = { owner: `owner-${randomBytes(8).toString('hex')}`, app: `app-${randomBytes(8).toString('hex')}` };

/** A ```sql block of the deployment guide, by its first line, with this test's role and database names. */
function guideSql(firstLine: string): string {
  const guide = fs.readFileSync(path.join(ROOT, 'DEPLOYMENT_INSTRUCTIONS.md'), 'utf8');
  const block = [...guide.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!).find((text) => text.startsWith(firstLine));
  if (!block) throw new Error(`DEPLOYMENT_INSTRUCTIONS.md has no sql block starting with ${firstLine}`);
  return block
    .replaceAll('sinkron_owner', NAMES.owner)
    .replaceAll('sinkron_app', NAMES.app)
    .replaceAll('change-me-owner', PASSWORDS.owner)
    .replaceAll('change-me-app', PASSWORDS.app)
    .replace(/\bsinkron\b/g, NAMES.database);
}

/** Runs the statements one by one, as psql does (CREATE DATABASE refuses a transaction block); `\connect` switches the database. */
async function runLikePsql(sql: string, urlOf: (database: string) => string, firstDatabase: string): Promise<void> {
  let client = new pg.Client({ connectionString: urlOf(firstDatabase) });
  await client.connect();
  try {
    const lines = sql.split('\n').filter((line) => !line.trimStart().startsWith('--'));
    let statement = '';
    for (const line of lines) {
      const connect = /^\\connect (\S+)$/.exec(line.trim());
      if (connect) {
        await client.end();
        client = new pg.Client({ connectionString: urlOf(connect[1]!) });
        await client.connect();
        continue;
      }
      statement += `${line}\n`;
      if (line.trimEnd().endsWith(';')) {
        await client.query(statement);
        statement = '';
      }
    }
    expect(statement.trim()).toBe('');
  } finally {
    await client.end();
  }
}

const admin = () => new URL(inject('adminDatabaseUrl'));
function urlAs(role: 'owner' | 'app' | 'admin', database = NAMES.database): string {
  const url = admin();
  if (role !== 'admin') {
    url.username = NAMES[role];
    url.password = PASSWORDS[role];
  }
  url.pathname = `/${database}`;
  return url.toString();
}

let remote: LaravelServer;
let app: AppProcess | undefined;
let runtime: Knex;
let ownerDb: Knex;

beforeAll(async () => {
  await runLikePsql(guideSql('-- roles: as a superuser'), (database) => urlAs('admin', database), 'postgres');
  // The owner migrates, as the guide says: the knex migrations and the job queue's schema.
  await run('npm', ['run', '--silent', 'migrate'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', DATABASE_URL: urlAs('owner') },
    timeout: 60_000,
  });
  await runLikePsql(guideSql('-- grants: as sinkron_owner'), () => urlAs('owner'), NAMES.database);
  runtime = createDb(urlAs('app'), { max: 2 });
  ownerDb = createDb(urlAs('owner'), { max: 2 });
  remote = await startLaravelServer({
    users: [
      { id: 1, name: 'Added One', email: 'added1@dev.test', role: 'vendor', is_active: true },
      { id: 3, name: 'New Name', email: 'changed@dev.test', role: 'vendor', is_active: true },
    ],
  });
}, 120_000);

afterAll(async () => {
  if (app && app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
  await runtime?.destroy();
  await ownerDb?.destroy();
  await remote?.close();
  const client = new pg.Client({ connectionString: urlAs('admin', 'postgres') });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${NAMES.database} WITH (FORCE)`);
  await client.query(`DROP ROLE IF EXISTS ${NAMES.app}`);
  await client.query(`DROP ROLE IF EXISTS ${NAMES.owner}`);
  await client.end();
});

describe('the runtime role of the deployment guide', () => {
  it('cannot create, alter or drop anything, in public or in pgboss', async () => {
    await expect(runtime.raw('CREATE TABLE sneaky (id int)')).rejects.toThrow(/permission denied for schema public/);
    await expect(runtime.raw('CREATE TABLE pgboss.sneaky (id int)')).rejects.toThrow(/permission denied for schema pgboss/);
    await expect(runtime.raw('ALTER TABLE users ADD COLUMN sneaky int')).rejects.toThrow(/must be owner of table users/);
    await expect(runtime.raw('DROP TABLE sync_runs')).rejects.toThrow(/must be owner of table sync_runs/);
    await expect(runtime.raw('TRUNCATE users')).rejects.toThrow(/permission denied for table users/);
  });

  it('runs the app with MIGRATE_ON_START=0: sign-in, a preview and its execute', async () => {
    const devId = await addLocation(ownerDb, 'DEV', remote.url);
    await insertUsers(ownerDb, devId, [
      { email: 'changed@dev.test', name: 'Old Name', role: 'vendor', remote_id: '3' },
      { email: 'gone@dev.test', name: 'Gone', role: 'vendor', remote_id: '4' },
    ]);
    app = await startAppProcess({
      DATABASE_URL: urlAs('app'),
      MIGRATE_ON_START: '0',
      ...TEST_SECRETS,
      ADMIN_EMAIL: TEST_ADMIN.email,
      ADMIN_PASSWORD: TEST_ADMIN.password,
      ...REMOTE_ENV,
    });
    expect((await request(app.url).get('/readyz')).body).toEqual({ status: 'ready' });

    const login = await request(app.url).get('/login');
    const anonymous = ([] as string[]).concat(login.headers['set-cookie'] ?? [])[0]!.split(';')[0]!;
    const signedIn = await request(app.url)
      .post('/login')
      .set('Cookie', anonymous)
      .type('form')
      .send({ ...TEST_ADMIN, _csrf: csrfFrom(login.text) });
    expect(signedIn.status).toBe(303);
    const cookie = ([] as string[])
      .concat(signedIn.headers['set-cookie'] ?? [])
      .find((c) => c.startsWith('sinkron.sid='))!
      .split(';')[0]!;
    const agent = { get: (p: string) => request(app!.url).get(p).set('Cookie', cookie) };
    const post = async (p: string, tokenFrom: string, fields: Record<string, string> = {}) => {
      const page = await agent.get(tokenFrom);
      return request(app!.url)
        .post(p)
        .set('Cookie', cookie)
        .type('form')
        .send({ ...fields, _csrf: csrfFrom(page.text) });
    };

    const preview = await post('/admin/users/sync/preview', '/admin/users', { location_id: String(devId) });
    expect(preview.status).toBe(303);
    const runId = Number(/(\d+)$/.exec(preview.headers.location ?? '')![1]);
    await waitForRun(agent, runId);
    expect(await runRow(ownerDb, runId)).toMatchObject({ status: 'previewed', new_count: 1, update_count: 1, deactivate_count: 1 });

    expect((await post(`/admin/users/sync/${runId}/execute`, `/admin/users/sync/${runId}`)).status).toBe(303);
    await waitForRun(agent, runId);
    expect(await runRow(ownerDb, runId)).toMatchObject({ status: 'completed' });
    expect(await ownerDb('users').where({ email: 'changed@dev.test' }).first()).toMatchObject({ name: 'New Name' });
    expect(await ownerDb('users').where({ email: 'gone@dev.test' }).first()).toMatchObject({ is_active: false });

    expect(app.output()).not.toMatch(/permission denied/);
    app.child.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });
});
