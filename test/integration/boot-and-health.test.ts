import net, { type AddressInfo } from 'node:net';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, startInstance } from '../../src/boot';
import { loadConfig } from '../../src/platform/config';
import { findFreePort } from '../../src/platform/free-port';
import { buildTestApp, TEST_SECRETS } from '../support/app';
import { signedInAgent } from '../support/browser-session';
import { createTestDatabase } from '../support/database';
import { captureLogs } from '../support/logs';

describe('start-up', () => {
  it('fails with a message naming the database host, never its password, when Postgres is down', async () => {
    const port = await findFreePort();
    const databaseUrl = `postgres://sinkron:very-secret-db-password@127.0.0.1:${port}/sinkron`;
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: databaseUrl, ...TEST_SECRETS, PORT: '0' });
    const logs = captureLogs();
    const failure = await startInstance({ config, logger: logs.logger, databaseUrl }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DatabaseUnavailableError);
    const message = (failure as Error).message;
    expect(message).toContain(`Cannot use the database at 127.0.0.1:${port}/sinkron`);
    expect(message).toMatch(/ECONNREFUSED/);
    expect(message).not.toContain('very-secret-db-password');
    expect(logs.text()).not.toContain('very-secret-db-password');
  });

  it('fails with EADDRINUSE when its port is taken, instead of starting without a server', async () => {
    const database = await createTestDatabase();
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = holder.address() as AddressInfo;
      const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: database.url, ...TEST_SECRETS, PORT: String(port) });
      const failure = await startInstance({ config, logger: captureLogs().logger, databaseUrl: database.url }).catch((e: unknown) => e);
      expect((failure as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
      await database.drop();
    }
  });
});

describe('health and errors', () => {
  it('reports ok while the database answers, 503 and an error page with a reference (no stack) when it is gone', async () => {
    const database = await createTestDatabase();
    const t = await buildTestApp(database);
    const agent = await signedInAgent(t.app);
    expect((await request(t.app).get('/healthz')).body).toEqual({ status: 'ok' });

    await database.drop();
    const health = await request(t.app).get('/healthz');
    expect(health.status).toBe(503);
    expect(health.body).toEqual({ status: 'unavailable' });

    const page = await agent.get('/admin/users');
    expect(page.status).toBe(500);
    expect(page.text).toContain('Something went wrong on our side.');
    const reference = /Reference: <code>([0-9a-f-]{36})<\/code>/.exec(page.text)?.[1];
    expect(reference).toBeDefined();
    expect(page.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
    expect(page.text).not.toMatch(/database .* does not exist|SELECT|sinkron_test_/);
    // The log has the cause under the same reference.
    const logged = t.logs.entries().find((e) => e.reference === reference);
    expect(logged?.msg).toBe('unhandled error');
    await t.close().catch(() => {});
  });

  it('answers an unknown page with the 404 page and an unknown API path with JSON', async () => {
    const database = await createTestDatabase();
    const t = await buildTestApp(database);
    const page = await request(t.app).get('/no/such/page');
    expect(page.status).toBe(404);
    expect(page.text).toContain('Page not found');
    const api = await request(t.app).get('/api/nothing-here');
    expect(api.status).toBe(404);
    expect(api.body).toEqual({ error: 'Not found' });
    await t.close();
    await database.drop();
  });

  it('sends a strict Content-Security-Policy without inline scripts', async () => {
    const database = await createTestDatabase();
    const t = await buildTestApp(database);
    const page = await request(t.app).get('/login');
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    await t.close();
    await database.drop();
  });
});

describe('readiness (/readyz)', () => {
  it('answers ready on a current schema with the queue started, and 503 with the reason when migrations are pending, the queue is stopped or the instance stops', async () => {
    const database = await createTestDatabase();
    const t = await buildTestApp(database);
    try {
      const ready = await request(t.app).get('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ status: 'ready' });

      const last = await database.db('knex_migrations').orderBy('id', 'desc').first();
      await database.db('knex_migrations').where({ id: last.id }).del();
      const behind = await request(t.app).get('/readyz');
      expect(behind.status).toBe(503);
      expect(behind.body.reason).toContain(`The database schema is behind this version of Sinkron: 1 migration(s) pending (${last.name})`);
      await database.db('knex_migrations').insert(last);
      expect((await request(t.app).get('/readyz')).status).toBe(200);

      await t.container.services.syncJobs.stop();
      expect((await request(t.app).get('/readyz')).body).toEqual({ status: 'unavailable', reason: 'the job queue is not started' });
      t.container.readiness.drain();
      expect((await request(t.app).get('/readyz')).body).toEqual({ status: 'unavailable', reason: 'stopping' });
      // Liveness is another question: the instance still answers.
      expect((await request(t.app).get('/healthz')).body).toEqual({ status: 'ok' });
    } finally {
      await t.close();
      await database.drop();
    }
  });
});

/** A raw HTTP/1.1 connection to the instance, to see when the server answers and when it closes it. */
function connection(url: string) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  socket.on('error', () => undefined);
  return {
    closed,
    received: () => received,
    get: (path: string) => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`),
  };
}

describe('stopping an instance', () => {
  async function started(grace: string) {
    const database = await createTestDatabase();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      ...TEST_SECRETS,
      PORT: '0',
      WORKERS: '0',
      SHUTDOWN_GRACE_SECONDS: grace,
    });
    const logs = captureLogs();
    const instance = await startInstance({ config, logger: logs.logger, databaseUrl: database.url, createFirstAdmin: false });
    // /readyz reads knex_migrations: with the table locked here, a /readyz request stays in flight.
    const holder = await database.directClient();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE knex_migrations IN ACCESS EXCLUSIVE MODE');
    const inFlight = connection(instance.url);
    inFlight.get('/readyz');
    const dba = await database.directClient();
    for (let attempt = 0; ; attempt += 1) {
      const waiting = await dba.query(
        `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%knex_migrations%' AND pid <> $1`,
        [(await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid],
      );
      if (waiting.rows.length > 0) break;
      if (attempt > 1500) throw new Error('/readyz never waited on the lock');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await dba.end();
    return { database, instance, logs, holder, inFlight };
  }

  it('closes idle connections at once, refuses new ones, lets a request in flight finish (503 on /readyz), then stops', async () => {
    const { database, instance, logs, holder, inFlight } = await started('30');
    const idle = connection(instance.url);
    idle.get('/healthz');
    while (!idle.received().includes('{"status":"ok"}')) await new Promise((resolve) => setTimeout(resolve, 10));
    try {
      const stopping = instance.stop();
      // Closed while the request in flight still waits: not at the end of the grace.
      expect(await idle.closed).toContain('{"status":"ok"}');
      await expect(fetch(`${instance.url}/healthz`)).rejects.toThrow();
      expect(inFlight.received()).toBe('');

      await holder.query('ROLLBACK');
      const answer = await inFlight.closed;
      expect(answer).toMatch(/^HTTP\/1\.1 503 /);
      expect(answer).toMatch(/\r\nConnection: close\r\n/i);
      expect(answer).toContain('{"status":"unavailable","reason":"stopping"}');
      await stopping;
      expect(logs.entries().some((entry) => String(entry.msg).includes('cut'))).toBe(false);
    } finally {
      await holder.end();
      await database.drop();
    }
  });

  it('past SHUTDOWN_GRACE_SECONDS cuts the requests still in flight and stops', async () => {
    const { database, instance, logs, holder, inFlight } = await started('1');
    try {
      // The lock stays held: the request cannot finish, the grace ends first.
      await instance.stop();
      expect(await inFlight.closed).toBe('');
      expect(logs.entries().find((entry) => entry.msg === 'requests still open when the stop grace ended: cut')).toMatchObject({ requests: 1 });
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await database.drop();
    }
  });
});
