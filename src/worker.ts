import 'dotenv/config';
import { startInstance } from './boot';
import { ConfigError, loadConfig } from './platform/config';
import { stopOnSignals } from './platform/shutdown';
import { createLogger } from './platform/logger';

/** `npm run worker`: an instance that runs sync jobs and serves no pages, on the DATABASE_URL the web instances use. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  for (const warning of config.warnings) logger.warn(warning);
  if (!config.database.url) throw new Error('npm run worker needs DATABASE_URL: the database the web instances use');
  if (config.jobs.workers === 0) throw new Error('npm run worker with WORKERS=0 would run no jobs: set WORKERS to 1 or more');
  const instance = await startInstance({ config, logger, databaseUrl: config.database.url, web: false });
  // In production off a terminal, the 'sync workers started' line says the same in JSON.
  if (process.stdout.isTTY || !config.isProduction) console.log(`\nSinkron worker running ${config.jobs.workers} sync job(s) at a time`);
  stopOnSignals(logger, () => [() => instance.stop()]);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`Sinkron worker could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
