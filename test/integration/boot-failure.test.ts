import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRETS } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';

const ROOT = path.resolve(import.meta.dirname, '../..');
const moduleUrl = (file: string) => JSON.stringify(pathToFileURL(path.join(ROOT, file)).href);

let database: TestDatabase;
let holder: net.Server;
let takenPort: number;

beforeAll(async () => {
  database = await createTestDatabase();
  holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  takenPort = (holder.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => holder.close(resolve));
  await database.drop();
});

/**
 * startInstance in a process of its own that, once the start failed, only waits: it ends by itself when
 * nothing the start began is left (no job polling, no sweep or prune timer, no pool, no socket). Still
 * alive long after, it prints what holds it and exits 9.
 */
async function failedStartIn(env: Record<string, string>) {
  const script = `
    const { startInstance } = await import(${moduleUrl('src/boot.ts')});
    const { loadConfig } = await import(${moduleUrl('src/platform/config.ts')});
    const { createLogger } = await import(${moduleUrl('src/platform/logger.ts')});
    const config = loadConfig(${JSON.stringify({ NODE_ENV: 'test', DATABASE_URL: database.url, ...TEST_SECRETS, PORT: '0', ...env })});
    const logger = createLogger({ log: { level: 'silent' } });
    await startInstance({ config, logger, databaseUrl: config.database.url }).then(
      () => console.log('started'),
      (error) => console.log('failed: ' + error.message),
    );
    setTimeout(() => {
      console.log('still running: ' + process.getActiveResourcesInfo().join(', '));
      process.exit(9);
    }, 20_000).unref();`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('a start that fails', () => {
  it('at listen (PORT taken) stops the job queue, the sessions and the database it started, and says which port', async () => {
    const { code, output } = await failedStartIn({ PORT: String(takenPort) });
    expect(output).toContain(`failed: Cannot listen on 127.0.0.1:${takenPort}: port ${takenPort} is already in use`);
    expect(output).toContain('set PORT to a free port');
    expect(output).not.toContain('still running');
    expect(code).toBe(0);
  }, 60_000);

  it('after listen (METRICS_PORT taken) also closes the HTTP server it had opened', async () => {
    const { code, output } = await failedStartIn({ METRICS_PORT: String(takenPort) });
    expect(output).toContain('failed: listen EADDRINUSE');
    expect(output).not.toContain('still running');
    expect(code).toBe(0);
  }, 60_000);
});
