import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { embeddedUrl, startEmbeddedPostgres, type EmbeddedCluster } from './embedded-postgres';
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
    // embedded-postgres rejects with nothing when postgres exits during start-up.
    const reason = cause instanceof Error ? cause.message : cause ? String(cause) : 'postgres exited during start-up';
    super(
      `Could not start the embedded PostgreSQL in ${dir} (${reason}). Is another Sinkron using it? ` +
        'Stop it first, or set DATABASE_URL to use a PostgreSQL server.',
    );
    this.name = 'EmbeddedStartError';
  }
}

/** The embedded cluster another process (a running `npm start`) serves on that port, if any. */
async function runningEmbeddedServer(port: number): Promise<DatabaseServer | undefined> {
  const client = new pg.Client({ connectionString: embeddedUrl(port, 'postgres'), connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
  const server = externalDatabaseServer(embeddedUrl(port, EMBEDDED_DATABASE));
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
  const { dir, port } = config.database.embedded;
  if (options.shareRunning) {
    const running = await runningEmbeddedServer(port);
    if (running) return running;
  }
  logger.info({ dir, port }, 'starting embedded PostgreSQL');
  let cluster: EmbeddedCluster;
  try {
    cluster = await startEmbeddedPostgres({ dir, port, persistent: true });
  } catch (error) {
    throw new EmbeddedStartError(dir, error);
  }
  const server = embeddedDatabaseServer(cluster);
  try {
    await server.ensureDatabase(EMBEDDED_DATABASE);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return server;
}
