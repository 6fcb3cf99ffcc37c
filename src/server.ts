import 'dotenv/config';
import { startInstance, type RunningInstance } from './boot';
import { ConfigError, loadConfig } from './config';
import { startEmbeddedPostgres, type EmbeddedCluster } from './db/embedded-postgres';
import { createLogger } from './logger';

const EMBEDDED_DATABASE = 'sinkron';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  for (const warning of config.warnings) logger.warn(warning);

  let cluster: EmbeddedCluster | undefined;
  let databaseUrl = config.database.url;
  if (!databaseUrl) {
    logger.info({ dir: config.database.embedded.dir, port: config.database.embedded.port }, 'starting embedded PostgreSQL');
    cluster = await startEmbeddedPostgres({ ...config.database.embedded, persistent: true });
    if (!(await cluster.databaseExists(EMBEDDED_DATABASE))) await cluster.createDatabase(EMBEDDED_DATABASE);
    databaseUrl = cluster.urlFor(EMBEDDED_DATABASE);
  }

  const instances: RunningInstance[] = [];
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    for (const instance of instances.reverse()) await instance.stop();
    if (cluster) await cluster.stop();
    logger.flush();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    const hub = await startInstance({ config, logger, databaseUrl });
    instances.push(hub);
    console.log(`\nSinkron is running at ${hub.url}`);
    if (hub.initialAdmin?.generatedPassword) {
      console.log(
        `First admin created: ${hub.initialAdmin.email} / ${hub.initialAdmin.generatedPassword}\n` +
          'This password is shown once: sign in and keep it, or reset it with `npm run admin:create`.',
      );
    }
  } catch (error) {
    for (const instance of instances) await instance.stop();
    if (cluster) await cluster.stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`Sinkron could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
