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

/** The database URL with the password removed, for messages and logs. */
export function describeDatabaseUrl(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}
