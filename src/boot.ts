import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app';
import type { Config } from './platform/config';
import { buildContainer, type Container } from './container';
import { createDb, describeDatabaseUrl, type Knex } from './platform/db/knex';
import { migrateLatest } from './platform/db/migrate';
import { createSessionStore } from './platform/db/session-store';
import { startMetricsServer } from './platform/metrics';

export interface RunningInstance {
  url: string;
  container: Container;
  /** Set when the first admin was created at this start with a generated password. */
  initialAdmin?: { email: string; generatedPassword?: string };
  stop(): Promise<void>;
}

export class DatabaseUnavailableError extends Error {
  constructor(databaseUrl: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Cannot use the database at ${describeDatabaseUrl(databaseUrl)}: ${reason}`);
    this.name = 'DatabaseUnavailableError';
  }
}

/** The HTTP port cannot be had; `code` stays the system's (EADDRINUSE, EACCES). */
export class ListenError extends Error {
  readonly code: string | undefined;
  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    const address = `${host}:${port}`;
    const reason =
      cause.code === 'EADDRINUSE'
        ? `port ${port} is already in use (another Sinkron, or another program): stop it, or set PORT to a free port`
        : cause.code === 'EACCES'
          ? `not allowed to use port ${port} (below 1024 needs CAP_NET_BIND_SERVICE): set PORT to 1024 or above`
          : cause.code === 'EADDRNOTAVAIL'
            ? `${host} is not an address of this machine: set HOST to one of its addresses`
            : cause.message;
    super(`Cannot listen on ${address}: ${reason}`, { cause });
    this.name = 'ListenError';
    this.code = cause.code;
  }
}

/**
 * Starts one Sinkron instance in a fixed order: database → migrations → services → sync workers → app → listen.
 * `stop` undoes it in reverse.
 */
export async function startInstance(options: {
  config: Config;
  logger: Logger;
  databaseUrl: string;
  /** False for the demo's remotes, which serve only their API: no admin is created there. */
  createFirstAdmin?: boolean;
  /** false: a worker-only process (`npm run worker`), which serves no pages. */
  web?: boolean;
}): Promise<RunningInstance> {
  const { logger, databaseUrl } = options;
  const db = createDb(databaseUrl, { logger });
  try {
    await db.raw('SELECT 1');
  } catch (error) {
    await db.destroy();
    throw new DatabaseUnavailableError(databaseUrl, error);
  }
  // What has started so far, stopped in reverse when a later step fails: a failed start must leave nothing
  // behind (job polling, the sweep and prune timers, a listening socket) to keep the process alive.
  const started: Array<() => Promise<void>> = [() => db.destroy()];
  const stopStarted = async () => {
    for (const stop of started.splice(0).reverse()) {
      await stop().catch((error: unknown) => logger.warn({ err: error }, 'could not stop a part of a failed start'));
    }
  };
  try {
    return await startServices({ ...options, db, started });
  } catch (error) {
    await stopStarted();
    throw error;
  }
}

/** startInstance past the database check; pushes a stop for each part it starts onto `started`. */
async function startServices(
  options: Parameters<typeof startInstance>[0] & { db: Knex; started: Array<() => Promise<void>> },
): Promise<RunningInstance> {
  const { config, logger, databaseUrl, db, started } = options;
  const applied = await migrateLatest(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');

  const container = await buildContainer({ config, db, logger });
  const initialAdmin = options.createFirstAdmin === false ? undefined : await container.services.auth.ensureInitialAdmin(config.initialAdmin);
  const { syncJobs } = container.services;
  // Before it starts: a start that fails half-way still has a queue to stop.
  started.push(() => syncJobs.stop());
  await syncJobs.start();
  logger.info({ workers: config.jobs.workers }, config.jobs.workers > 0 ? 'sync workers started' : 'web only: no sync workers');
  if (options.web === false) {
    return {
      url: '',
      container,
      initialAdmin,
      async stop() {
        await syncJobs.stop();
        await db.destroy();
      },
    };
  }
  const sessions = createSessionStore(databaseUrl, { pruneIntervalSeconds: 15 * 60, logger });
  started.push(() => sessions.close());
  const app = createApp({ ...container, sessionStore: sessions.store });

  // Not app.listen: Express 5 hands a listen error to the callback, which would look like success.
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(new ListenError(config.http.host, config.http.port, error));
    server.once('error', failed);
    server.listen(config.http.port, config.http.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  started.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const metricsServer = config.metrics.port ? await startMetricsServer(container.metrics, logger, config.metrics.port) : undefined;
  const url = `http://${config.http.host}:${port}`;
  logger.info({ url, location: config.appLocation.code }, 'sinkron listening');

  return {
    url,
    container,
    initialAdmin,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await metricsServer?.close();
      await syncJobs.stop();
      await sessions.close();
      await db.destroy();
    },
  };
}
