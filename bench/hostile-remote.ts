/**
 * The hub while a hostile remote is read (security review, finding 3): an instance, started as in
 * production, previews a location whose server answers every page with far more rows than asked for,
 * again and again; meanwhile the parent asks the instance's /healthz over HTTP. What the instance's event
 * loop was held up (perf_hooks.monitorEventLoopDelay) and what /healthz took are the figures.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startInstance } from '../src/boot';
import { loadConfig } from '../src/platform/config';
import { createLogger } from '../src/platform/logger';

export interface HostileFigures {
  previews: number;
  /** The failure every preview ended with (the refusal's message). */
  errors: string[];
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  url: string;
}

const ms = (nanoseconds: number) => Math.round((nanoseconds / 1e6) * 10) / 10;

/** In the worker: starts the instance, then previews the hostile location `previews` times in a row. */
export async function previewHostileRemote(task: {
  env: Record<string, string>;
  locationId: number;
  adminId: number;
  previews: number;
}): Promise<HostileFigures> {
  const config = loadConfig(task.env);
  const instance = await startInstance({ config, logger: createLogger(config), databaseUrl: task.env.DATABASE_URL!, createFirstAdmin: false });
  const { userSync, syncRuns } = { userSync: instance.container.services.userSync, syncRuns: instance.container.repositories.syncRuns };
  // The parent starts asking /healthz when told where: a message before the previews begin.
  process.send!({ ready: instance.url });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const errors: string[] = [];
  try {
    for (let i = 0; i < task.previews; i += 1) {
      const { runId, status } = await userSync.preview(task.locationId, task.adminId, 'cli');
      if (status !== 'failed') throw new Error(`the hostile preview was not refused: ${status}`);
      errors.push((await syncRuns.findById(runId))?.error ?? '');
    }
  } finally {
    delay.disable();
    await instance.stop();
  }
  return { previews: task.previews, errors, loopDelayP99Ms: ms(delay.percentile(99)), loopDelayMaxMs: ms(delay.max), url: instance.url };
}

/** In the parent: a loopback server whose every users page is `body`, and a real login. */
export async function startHostileRemote(credentials: { email: string; password: string }, body: string) {
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/api/auth/login') {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const asked = JSON.parse(text) as { email: string; password: string };
        const ok = asked.email === credentials.email && asked.password === credentials.password;
        res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(ok ? { access_token: 'hostile', expires_in: 3600 } : {}));
      });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A page just under the default REMOTE_MAX_BYTES (4 MB) with 25,000 rows where 1,000 were asked for, claiming 200 pages. */
export function oversizedPage(): string {
  const rows = Array.from({ length: 25_000 }, (_, i) => ({
    id: i + 1,
    name: `Hostile User ${i + 1}`,
    email: `hostile${i + 1}@remote.test`,
    role: 'vendor',
    is_active: true,
    updated_at: '2026-12-01T00:00:00.000000Z',
  }));
  return JSON.stringify({
    data: rows,
    links: { next: '/api/users?page=2' },
    meta: { current_page: 1, last_page: 200, per_page: 1000, total: 200 * 25_000 },
  });
}

/** Asks /healthz one after another until stopped; returns each answer's time in ms. */
export function pollHealth(url: string): { stop(): Promise<number[]> } {
  const times: number[] = [];
  let stopped = false;
  const ask = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      http
        .get(`${url}/healthz`, (res) => {
          res.resume();
          res.on('end', () => {
            times.push(performance.now() - started);
            resolve();
          });
        })
        .on('error', () => resolve());
    });
  const loop = (async () => {
    while (!stopped) {
      await ask();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return times;
    },
  };
}
