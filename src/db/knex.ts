import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

export type { Knex };

// bigint (COUNT(*), bigserial) as JS numbers: our ids and counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function createDb(connectionString: string, pool: { min?: number; max?: number } = {}): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString, application_name: 'sinkron' },
    pool: { min: pool.min ?? 0, max: pool.max ?? 10 },
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
