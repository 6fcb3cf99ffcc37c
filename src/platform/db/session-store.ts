import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import pg from 'pg';
import type { Logger } from 'pino';

/** Sessions in Postgres, so every app instance behind a load balancer sees the same sign-ins. */
export function createSessionStore(connectionString: string, options: { pruneIntervalSeconds: number | false; logger: Logger }) {
  const PgStore = connectPgSimple(session);
  const pool = new pg.Pool({ connectionString, max: 4, application_name: 'sinkron-sessions' });
  // An idle connection that the server drops must not take the process down; the pool reconnects.
  pool.on('error', (error) => options.logger.warn({ reason: error.message }, 'session database connection lost'));
  const store = new PgStore({
    pool,
    tableName: 'session',
    createTableIfMissing: false,
    pruneSessionInterval: options.pruneIntervalSeconds,
    errorLog: (...args: unknown[]) => options.logger.warn({ reason: String(args[0]) }, 'session store error'),
  });
  return {
    store,
    async close() {
      store.close();
      await pool.end();
    },
  };
}
