import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger';
import { TEST_ADMIN, TEST_SECRETS, useTestApp, type TestApp } from '../support/app';
import { csrfFrom } from '../support/browser-session';
import type { TestDatabase } from '../support/database';

const ROOT = path.resolve(import.meta.dirname, '../..');
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

let database: TestDatabase;
let t: TestApp;
useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({ TRUST_PROXY: '1', METRICS_TOKEN }),
);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sinkron-logs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PINO_DEBUG = 20;
const PINO_INFO = 30;

describe('log lines behind a proxy', () => {
  it('when a sign-in fails behind TRUST_PROXY=1, then its line names the client from X-Forwarded-For, not the proxy', async () => {
    const client = '203.0.113.7';
    const agent = request.agent(t.app);
    const page = await agent.get('/login').set('X-Forwarded-For', client);
    const refused = await agent
      .post('/login')
      .set('X-Forwarded-For', client)
      .type('form')
      .send({ email: TEST_ADMIN.email, password: 'not the password at all', _csrf: csrfFrom(page.text) });
    expect(refused.status).toBe(401);

    const failed = t.logs.entries().find((e) => e.msg === 'login failed');
    expect((failed?.req as { remoteAddress?: string } | undefined)?.remoteAddress).toBe(client);
    const answered = t.logs.entries().filter((e) => e.msg === 'request completed' && (e.req as { url: string }).url === '/login');
    expect(answered.length).toBeGreaterThan(0);
    for (const line of answered) expect((line.req as { remoteAddress: string }).remoteAddress).toBe(client);
  });
});

describe('health checks in the log', () => {
  it('when /healthz and /metrics are asked, then they are logged at debug, and a page still at info', async () => {
    expect((await request(t.app).get('/healthz')).status).toBe(200);
    expect((await request(t.app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`)).status).toBe(200);
    expect((await request(t.app).get('/login')).status).toBe(200);

    const levelOf = (url: string) =>
      t.logs
        .entries()
        .filter((e) => e.msg === 'request completed' && (e.req as { url: string }).url === url)
        .map((e) => e.level);
    expect(levelOf('/healthz')).toEqual([PINO_DEBUG]);
    expect(levelOf('/metrics')).toEqual([PINO_DEBUG]);
    expect(levelOf('/login')).toContain(PINO_INFO);
  });
});

describe('LOG_FILE', () => {
  it('when the log file is new, or was left readable by everyone, then it is mode 0600', async () => {
    const fresh = path.join(tmp, 'new', 'sinkron.log');
    const old = path.join(tmp, 'old.log');
    fs.writeFileSync(old, '', { mode: 0o644 });
    fs.chmodSync(old, 0o644);
    for (const file of [fresh, old]) {
      const logger = createLogger({ log: { level: 'info', file }, isProduction: true });
      logger.info('a line');
      logger.flush();
      expect(fs.statSync(file).mode & 0o777, file).toBe(0o600);
    }
  });
});

describe('the production server on stdout', () => {
  it('when stdout is not a terminal, then every line is JSON with instance, hostname and pid, the start-up banner included', async () => {
    const logFile = path.join(tmp, 'server.log');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        ...TEST_SECRETS,
        PORT: '0',
        APP_LOCATION_CODE: 'jkt',
        WORKERS: '0',
        LOG_FILE: logFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const closed = new Promise((resolve) => child.once('close', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const running = /Sinkron is running at (http:\/\/[0-9.:]+)/.exec(stdout);
        if (running) resolve(running[1]!);
      });
      child.once('close', (code) => reject(new Error(`the server exited (${code}) before it ran: ${stderr}${stdout}`)));
    });
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await closed;
    }

    const lines = stdout.split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry, line).toMatchObject({ instance: 'JKT', hostname: os.hostname(), pid: child.pid });
    }
    expect(stdout).not.toContain('━');
    expect(fs.statSync(logFile).mode & 0o777).toBe(0o600);
  });
});
