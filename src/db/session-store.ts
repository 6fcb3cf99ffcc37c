import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import pg from 'pg';

/** Sessions in Postgres, so every app instance behind a load balancer sees the same sign-ins. */
export function createSessionStore(connectionString: string, options: { pruneIntervalSeconds: number | false }) {
  const PgStore = connectPgSimple(session);
  const pool = new pg.Pool({ connectionString, max: 4, application_name: 'sinkron-sessions' });
  const store = new PgStore({
    pool,
    tableName: 'session',
    createTableIfMissing: false,
    pruneSessionInterval: options.pruneIntervalSeconds,
  });
  return {
    store,
    async close() {
      store.close();
      await pool.end();
    },
  };
}
