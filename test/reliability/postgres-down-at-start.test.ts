import { describe, expect, inject, it } from 'vitest';
import { findFreePort } from '../../src/platform/free-port';
import { TEST_SECRETS } from '../support/app';
import { spawnApp } from './app-process';

const DB_PASSWORD = 'very-secret-db-password-4711';

/** `npm start` against a database URL; the process must end on its own with a message. */
async function startAgainst(databaseUrl: string) {
  const app = spawnApp({ DATABASE_URL: databaseUrl, PORT: '0', ...TEST_SECRETS });
  const exit = await app.exited;
  return { ...exit, output: app.output() };
}

describe('when Postgres is down at start', () => {
  it('then the process exits 1 with a message naming the database host, port and name, never its password', async () => {
    const port = await findFreePort();
    const result = await startAgainst(`postgres://sinkron:${DB_PASSWORD}@127.0.0.1:${port}/sinkron_prod`);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`Sinkron could not start: Cannot use the database at 127.0.0.1:${port}/sinkron_prod`);
    expect(result.output).toMatch(/ECONNREFUSED/);
    expect(result.output).not.toContain(DB_PASSWORD);
    expect(result.output).not.toContain('Sinkron is running at');
  });
});

describe('when Postgres answers but refuses the credentials', () => {
  it('then the process exits 1 naming the host and the cause, never the password it tried', async () => {
    const url = new URL(inject('adminDatabaseUrl'));
    url.password = DB_PASSWORD;
    url.pathname = '/postgres';
    const result = await startAgainst(url.toString());
    expect(result.code).toBe(1);
    expect(result.output).toContain(`Cannot use the database at 127.0.0.1:${url.port}/postgres`);
    expect(result.output).toMatch(/password authentication failed/);
    expect(result.output).not.toContain(DB_PASSWORD);
  });
});
