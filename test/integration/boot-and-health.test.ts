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
