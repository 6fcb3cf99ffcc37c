import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../../src/platform/config';
import { embeddedDatabaseServer, type DatabaseServer } from '../../../src/platform/db/database-server';
import { startEmbeddedPostgres } from '../../../src/platform/db/embedded-postgres';
import { startDemo, type RunningDemo } from '../../../src/demo/start-demo';
import { findFreePort } from '../../../src/platform/free-port';
import { captureLogs, type CapturedLogs } from '../../support/logs';

export const E2E_ADMIN = { email: 'admin@sinkron.local', password: 'e2e admin password 42' };

export interface DemoEnvironment {
  demo: RunningDemo;
  config: Config;
  databases: DatabaseServer;
  logs: CapturedLogs;
  stop(): Promise<void>;
}

/** The demo as `npm start` runs it (hub, DEV, TEST), on free ports and a throw-away embedded cluster. */
export async function startDemoEnvironment(): Promise<DemoEnvironment> {
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-e2e-'));
  // Postgres runs as its own user when we are root; it must be able to reach its folder.
  await fs.chmod(runDir, 0o755);
  const cluster = await startEmbeddedPostgres({ dir: path.join(runDir, 'pg'), port: await findFreePort(), persistent: false });
  const databases = embeddedDatabaseServer(cluster);
  const logs = captureLogs('debug');
  const stopCluster = async () => {
    await databases.stop();
    await fs.rm(runDir, { recursive: true, force: true });
  };
  try {
    await databases.ensureDatabase('sinkron');
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DEMO: '1',
      ADMIN_EMAIL: E2E_ADMIN.email,
      ADMIN_PASSWORD: E2E_ADMIN.password,
      SESSION_SECRET: 'e2e-session-secret-0123456789-abcdefghijklmnop',
      JWT_SECRET: 'e2e-jwt-secret-0123456789-abcdefghijklmnopqrstuv',
      LOG_LEVEL: 'debug',
    });
    const demo = await startDemo({ config, logger: logs.logger, databases });
    return {
      demo,
      config,
      databases,
      logs,
      async stop() {
        await demo.stop();
        await stopCluster();
      },
    };
  } catch (error) {
    await stopCluster();
    throw error;
  }
}
