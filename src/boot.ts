import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app';
import type { Config } from './platform/config';
import { buildContainer, type Container } from './container';
import { createDb, describeDatabaseUrl } from './platform/db/knex';
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
  const { config, logger, databaseUrl } = options;
  const db = createDb(databaseUrl, { logger });
  try {
    await db.raw('SELECT 1');
  } catch (error) {
    await db.destroy();
    throw new DatabaseUnavailableError(databaseUrl, error);
  }
  const applied = await migrateLatest(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');

  const container = await buildContainer({ config, db, logger });
  const initialAdmin = options.createFirstAdmin === false ? undefined : await container.services.auth.ensureInitialAdmin(config.initialAdmin);
  const { syncJobs } = container.services;
  await syncJobs.start();
  await container.services.retention.start();
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
  const app = createApp({ ...container, sessionStore: sessions.store });

  // Not app.listen: Express 5 hands a listen error to the callback, which would look like success.
  const server = createServer(app);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await sessions.close();
    await db.destroy();
    throw error;
  }
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
