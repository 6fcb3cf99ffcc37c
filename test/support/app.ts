import type { Express } from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/platform/config';
import { buildContainer, type Container } from '../../src/container';
import { createSessionStore } from '../../src/platform/db/session-store';
import { captureLogs, type CapturedLogs } from './logs';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database';

export const TEST_ADMIN = { email: 'admin@sinkron.test', password: 'correct horse battery staple' };

/** The account other instances sync with (role `api`): created by `createApiAccount`. */
export const TEST_API_ACCOUNT = { email: 'sync@sinkron.test', password: 'sync account password 4242' };

/** The suite reads English page text; Indonesian (the product's default) has tests of its own. */
export const TEST_LANGUAGE = { DEFAULT_LANGUAGE: 'en' };

export const TEST_SECRETS = {
  SESSION_SECRET: 'test-session-secret-0123456789-abcdefghijklmnop',
  JWT_SECRET: 'test-jwt-secret-0123456789-abcdefghijklmnopqrstuv',
};

export interface TestApp {
  app: Express;
  config: Config;
  container: Container;
  logs: CapturedLogs;
  close(): Promise<void>;
}

/** The real app on a real database, configured as in production apart from the given environment. */
export async function buildTestApp(database: TestDatabase, env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    ...TEST_LANGUAGE,
    DATABASE_URL: database.url,
    ...TEST_SECRETS,
    ADMIN_EMAIL: TEST_ADMIN.email,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    REMOTE_RETRY_BASE_MS: '20',
    ...env,
  });
  const logs = captureLogs();
  const container = await buildContainer({ config, db: database.db, logger: logs.logger });
  await container.services.auth.ensureInitialAdmin(config.initialAdmin);
  await container.services.syncJobs.start();
  const sessions = createSessionStore(database.url, { pruneIntervalSeconds: false, logger: logs.logger });
  const app = createApp({ ...container, sessionStore: sessions.store });
  return {
    app,
    config,
    container,
    logs,
    async close() {
      await container.services.syncJobs.stop();
      await sessions.close();
    },
  };
}

/** Creates (or resets) an `api` account on the app's own location, as `npm run admin:create -- --role api` does. */
export async function createApiAccount(t: Pick<TestApp, 'container'>, credentials = TEST_API_ACCOUNT) {
  return t.container.services.auth.createOrResetAccount(credentials.email, credentials.password, { role: 'api' });
}

/**
 * The setup nearly every HTTP test file shares: a database of its own and the app on it, made before the
 * file's tests (at this call's place among its hooks, so `env` may read what earlier hooks started) and
 * closed and dropped after them. `use` receives both, e.g. `useTestApp((ctx) => ({ database, t } = ctx))`.
 */
export function useTestApp(use: (ctx: { database: TestDatabase; t: TestApp }) => void, env: () => Record<string, string> = () => ({})): void {
  let database: TestDatabase | undefined;
  let t: TestApp | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    t = await buildTestApp(database, env());
    use({ database, t });
  });
  afterAll(async () => {
    await t?.close();
    await database?.drop();
  });
}

/** Serves an Express app on a free loopback port until `close`. */
export async function listen(app: Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
