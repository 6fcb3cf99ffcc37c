import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'pino';

export type { Knex };

// bigint (COUNT(*), bigserial) as JS numbers: our ids and counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function createDb(connectionString: string, options: { min?: number; max?: number; logger?: Logger } = {}): Knex {
  const { logger } = options;
  return knexFactory({
    client: 'pg',
    connection: { connectionString, application_name: 'sinkron' },
    pool: { min: options.min ?? 0, max: options.max ?? 10 },
    // knex reports lost connections and pool trouble on the console unless given a logger.
    ...(logger && {
      log: {
        warn: (message: unknown) => logger.warn({ reason: String(message) }, 'database warning'),
        error: (message: unknown) => logger.error({ reason: String(message) }, 'database error'),
        deprecate: (method: unknown, alternative: unknown) =>
          logger.warn({ method: String(method), alternative: String(alternative) }, 'knex deprecation'),
        debug: (message: unknown) => logger.debug({ detail: String(message) }, 'knex debug'),
      },
    }),
  });
}

/**
 * Ends the transaction's connection when `signal` aborts, from another connection of the pool: the
 * statement under way fails and PostgreSQL rolls the whole transaction back. Returns a function that
 * stops watching.
 */
export async function endTransactionOnAbort(db: Knex, trx: Knex.Transaction, signal: AbortSignal): Promise<() => void> {
  const { rows } = await trx.raw<{ rows: Array<{ pid: number }> }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]!.pid;
  const end = () => {
    db.raw('SELECT pg_terminate_backend(?)', [pid]).catch(() => undefined);
  };
  if (signal.aborted) end();
  else signal.addEventListener('abort', end, { once: true });
  return () => signal.removeEventListener('abort', end);
}

/** The database URL with the password removed, for messages and logs. */
export function describeDatabaseUrl(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}
