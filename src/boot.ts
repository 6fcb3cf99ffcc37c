import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app';
import type { Config } from './platform/config';
import { buildContainer, type Container } from './container';
import { createDb, describeDatabaseUrl, type Knex } from './platform/db/knex';
import { prepareSchema } from './platform/db/migrate';
import { createSessionStore } from './platform/db/session-store';
import { drainable } from './platform/http/drain';
import { settlesBefore } from './platform/deadline';
import { startMetricsServer } from './platform/metrics';

// Past the stop grace, the most the pools get to close before the stop goes on without them.
const POOL_CLOSE_MS = 1000;

export interface RunningInstance {
  url: string;
  container: Container;
  /** Set when the first admin was created at this start with a generated password. */
  initialAdmin?: { email: string; generatedPassword?: string };
  /**
   * Drains and stops the instance: /readyz answers 503, no new connection is taken, running previews go
   * back to the queue, and running executes and requests in flight may finish until `deadline` (a time in
   * ms; by default SHUTDOWN_GRACE_SECONDS from now); what is still running then is rolled back or cut.
   */
  stop(deadline?: number): Promise<void>;
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
 * Starts one Sinkron instance in a fixed order: database → migrations (or, with MIGRATE_ON_START=0, a check
 * that the schema fits) → services → sync workers → app → listen. `stop` undoes it in reverse.
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
  const schema = await prepareSchema(db, { migrate: config.database.migrateOnStart });
  if (schema.applied.length > 0) logger.info({ migrations: schema.applied }, 'migrations applied');
  if (schema.ahead.length > 0) logger.info({ migrations: schema.ahead }, 'the schema has additive migrations of a newer version: running on it');

  const container = await buildContainer({ config, db, logger });
  const initialAdmin = options.createFirstAdmin === false ? undefined : await container.services.auth.ensureInitialAdmin(config.initialAdmin);
  const { syncJobs } = container.services;
  // Before it starts: a start that fails half-way still has a queue to stop.
  started.push(() => syncJobs.stop());
  await syncJobs.start();
  await container.services.retention.start();
  logger.info({ workers: config.jobs.workers }, config.jobs.workers > 0 ? 'sync workers started' : 'web only: no sync workers');
  if (options.web === false) {
    return {
      url: '',
      container,
      initialAdmin,
      async stop(deadline = Date.now() + config.shutdown.graceMs) {
        await syncJobs.stop({ deadline });
        await db.destroy();
      },
    };
  }
  const sessions = createSessionStore(databaseUrl, { pruneIntervalSeconds: 15 * 60, logger });
  started.push(() => sessions.close());
  const app = createApp({ ...container, sessionStore: sessions.store });

  // Not app.listen: Express 5 hands a listen error to the callback, which would look like success.
  const server = createServer(app);
  const requests = drainable(server);
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
    async stop(deadline = Date.now() + config.shutdown.graceMs) {
      container.readiness.drain();
      const [{ cut }] = await Promise.all([requests.drain(deadline), syncJobs.stop({ deadline })]);
      if (cut > 0) logger.warn({ requests: cut }, 'requests still open when the stop grace ended: cut');
      await metricsServer?.close();
      // A request cut at the deadline may still wait on the database, and the pools wait for their connections.
      const closed = Promise.all([sessions.close(), db.destroy()]);
      if (!(await settlesBefore(closed, Math.max(deadline, Date.now()) + POOL_CLOSE_MS))) {
        logger.warn('database connections still in use when the stop grace ended: the exit ends them');
      }
    },
  };
}
