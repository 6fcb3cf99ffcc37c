import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config';
import { externalDatabaseServer } from '../../src/db/database-server';
import { createDb } from '../../src/db/knex';
import { demoRemoteUsers } from '../../src/demo/seed';
import { startDemo } from '../../src/demo/start-demo';
import { verifyPassword } from '../../src/services/password';
import { TEST_SECRETS } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { captureLogs } from '../support/logs';

const run = promisify(execFile);

/** An npm script as the README shows it, against the given database and nothing from the outer environment. */
async function npmRun(script: string, args: string[], env: Record<string, string>) {
  const { ADMIN_EMAIL: _e, ADMIN_PASSWORD: _p, DATABASE_URL: _d, ...outer } = process.env;
  try {
    const { stdout } = await run('npm', ['run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])], {
      env: { ...outer, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('the CLIs of the quick start', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
  });
  afterAll(async () => {
    await database.drop();
  });

  it('npm run migrate applies every migration once, and migrate:rollback undoes them', async () => {
    const first = await npmRun('migrate', [], { DATABASE_URL: database.url });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('2025_11_08_000000_modify_users_email_unique_constraint');
    expect(await database.db.schema.hasTable('sync_runs')).toBe(true);

    const again = await npmRun('migrate', [], { DATABASE_URL: database.url });
    expect(again.stdout).toContain('Already up to date.');

    const rollback = await npmRun('migrate:rollback', [], { DATABASE_URL: database.url });
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain('Rolled back');
    expect(await database.db.schema.hasTable('users')).toBe(false);
  });

  it('npm run admin:create creates an admin on a fresh database, then resets its password', async () => {
    const created = await npmRun('admin:create', ['--email', 'Ops@Example.com'], {
      DATABASE_URL: database.url,
      ADMIN_PASSWORD: 'first password 123',
    });
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Admin ready: ops@example.com');
    expect(created.stdout).not.toContain('first password 123');

    const reset = await npmRun('admin:create', ['--email', 'ops@example.com'], { DATABASE_URL: database.url });
    expect(reset.code).toBe(0);
    const generated = /Generated password \(shown once\): (\S+)/.exec(reset.stdout)?.[1];
    expect(generated).toBeDefined();

    const rows = await database.db('users').where({ email: 'ops@example.com' });
    expect(rows).toHaveLength(1);
    expect(rows[0].role).toBe('admin');
    expect(await verifyPassword(rows[0].password_hash, generated!)).toBe(true);
    expect(await verifyPassword(rows[0].password_hash, 'first password 123')).toBe(false);
  });

  it('npm run admin:create refuses something that is not an email', async () => {
    const refused = await npmRun('admin:create', ['--email', 'not-an-email'], { DATABASE_URL: database.url });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Not an email address: not-an-email');
  });
});

describe('the demo that npm start runs', () => {
  let hub: TestDatabase;
  const prefix = `sinkron_demo_${randomBytes(4).toString('hex')}_`;

  beforeAll(async () => {
    hub = await createTestDatabase();
  });
  afterAll(async () => {
    await hub.drop();
    const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
    await admin.connect();
    for (const code of ['dev', 'test']) await admin.query(`DROP DATABASE IF EXISTS ${prefix}${code} WITH (FORCE)`);
    await admin.end();
  });

  const start = () =>
    startDemo({
      config: loadConfig({ NODE_ENV: 'test', PORT: '0', DATABASE_URL: hub.url, DEMO: '1', ...TEST_SECRETS }),
      logger: captureLogs().logger,
      databases: externalDatabaseServer(hub.url),
      databasePrefix: prefix,
    });

  it('seeds on the first start and reuses the data on the second, following the new ports', async () => {
    const first = await start();
    const firstUrls = first.remotes.map((r) => r.url);
    await first.stop();
    expect(first.inserted.DEV).toBe(demoRemoteUsers('DEV').length);
    expect(first.inserted.TEST).toBe(demoRemoteUsers('TEST').length);
    expect(first.inserted.HUB).toBeGreaterThan(400);
    const countsAfterFirst = await hub.db('users').count<{ count: number }[]>('id as count');

    const second = await start();
    const secondUrls = second.remotes.map((r) => r.url);
    await second.stop();
    expect(second.inserted).toEqual({ HUB: 0, DEV: 0, TEST: 0 });
    expect(await hub.db('users').count<{ count: number }[]>('id as count')).toEqual(countsAfterFirst);

    const locations = await hub.db('locations').whereIn('code', ['DEV', 'TEST']).orderBy('code').select('code', 'online_url');
    expect(locations).toEqual([
      { code: 'DEV', online_url: secondUrls[0] },
      { code: 'TEST', online_url: secondUrls[1] },
    ]);
    expect(secondUrls).not.toEqual(firstUrls);
  });

  it('gives the demo remotes the shared emails and an API account that can sign in', async () => {
    const devUrl = new URL(hub.url);
    devUrl.pathname = `/${prefix}dev`;
    const testUrl = new URL(hub.url);
    testUrl.pathname = `/${prefix}test`;
    const dev = createDb(devUrl.toString());
    const test = createDb(testUrl.toString());
    try {
      const shared = await Promise.all([dev, test].map((db) => db('users').where({ email: 'dev_vendor1@dkm' }).first()));
      expect(shared.every((row) => row?.role === 'vendor')).toBe(true);
      const api = await dev('users').where({ email: 'api@sinkron.demo' }).first();
      expect(api.role).toBe('admin');
      expect(await verifyPassword(api.password_hash, 'sinkron-demo-api-password')).toBe(true);
    } finally {
      await Promise.all([dev.destroy(), test.destroy()]);
    }
  });
});
