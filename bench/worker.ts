/**
 * One measured step, in a process of its own so that its peak RSS is the app's alone (the seeding,
 * the remote server and the bench's bookkeeping live in the parent). Started by `fork` with a task
 * and its options as JSON in BENCH_TASK; answers with one IPC message.
 */
import { startInstance } from '../src/boot';
import { loadConfig } from '../src/platform/config';
import { buildContainer } from '../src/container';
import { createDb } from '../src/platform/db/knex';
import { createLogger } from '../src/platform/logger';
import { runPerRowBaseline } from './baseline';
import { startCpuCount, type CpuParties, type CpuTimes } from './cpu-time';
import { runFloor } from './floor';
import { previewHostileRemote, type HostileFigures } from './hostile-remote';
import { executePlan, fetchOnly, previewSync, previewThroughJob } from './sync-adapter';

/** A measured step; with `cpu`, the CPU time of the app, PostgreSQL and the remote during it is counted too. */
export type WorkerTask = (
  | { task: 'preview'; env: Record<string, string>; locationId: number; adminId: number }
  | { task: 'preview-job'; env: Record<string, string>; locationId: number; adminId: number }
  | { task: 'fetch'; env: Record<string, string>; locationId: number }
  | { task: 'execute'; env: Record<string, string>; locationId: number; adminId: number; runId: number }
  | {
      task: 'floor';
      databaseUrl: string;
      remoteUrl: string;
      credentials: { email: string; password: string };
      n: number;
      pages: number;
      perPage: number;
      concurrency: number;
    }
  | {
      task: 'baseline';
      databaseUrl: string;
      remoteUrl: string;
      credentials: { email: string; password: string };
      locationId: number;
      perPage: number;
      oneTransaction: boolean;
    }
  | { task: 'serve'; env: Record<string, string> }
  | { task: 'hostile'; env: Record<string, string>; locationId: number; adminId: number; previews: number }
) & { cpu?: CpuParties };

export interface StepResult {
  ms: number;
  /** Peak resident set of this process over its whole life, in MB. */
  maxRssMb: number;
  /** Resident set just before the measured step, in MB. */
  startRssMb: number;
  detail: Record<string, unknown>;
  /** CPU time used during the step by each party; null where /proc cannot tell or nobody asked. */
  cpuMs: CpuTimes | null;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const peakRssMb = () => mb(process.resourceUsage().maxRSS * 1024);

async function measure(work: () => Promise<Record<string, unknown>>, cpu?: CpuParties): Promise<StepResult> {
  const startRssMb = mb(process.memoryUsage.rss());
  const cpuSince = cpu ? startCpuCount(cpu) : () => null;
  const started = performance.now();
  const detail = await work();
  const ms = performance.now() - started;
  return { ms, maxRssMb: peakRssMb(), startRssMb, detail, cpuMs: cpuSince() };
}

async function withContainer<T>(env: Record<string, string>, work: (container: Awaited<ReturnType<typeof buildContainer>>) => Promise<T>) {
  const config = loadConfig(env);
  const logger = createLogger(config);
  const db = createDb(process.env.BENCH_EXPLAIN_SLOW ? withAutoExplain(env.DATABASE_URL!) : env.DATABASE_URL!);
  if (process.env.BENCH_TRACE_SQL) traceSql(db);
  try {
    const container = await buildContainer({ config, db, logger });
    return await work(container);
  } finally {
    await db.destroy();
  }
}

/** Asks the server to explain (with actual times) every statement over 20 ms, as a notice to the client. */
function withAutoExplain(url: string): string {
  const flags = [
    'session_preload_libraries=auto_explain',
    'auto_explain.log_min_duration=20',
    'auto_explain.log_analyze=on',
    'auto_explain.log_buffers=on',
    'auto_explain.log_level=notice',
  ];
  const parsed = new URL(url);
  parsed.searchParams.set('options', flags.map((flag) => `-c ${flag}`).join(' '));
  return parsed.toString();
}

/** Prints every statement with its time; COPY runs on the raw connection and shows as a gap. */
function traceSql(db: ReturnType<typeof createDb>) {
  const started = new Map<string, number>();
  const origin = performance.now();
  const pool = (db.client as { pool: { on(event: string, listener: (...args: unknown[]) => void): void } }).pool;
  pool.on('createSuccess', (_id, connection) =>
    (connection as NodeJS.EventEmitter).on('notice', (notice: { message: string }) => process.stderr.write(`[explain] ${notice.message}\n`)),
  );
  db.on('query', (query: { __knexQueryUid: string }) => started.set(query.__knexQueryUid, performance.now()));
  db.on('query-response', (_response: unknown, query: { __knexQueryUid: string; sql: string }) => {
    const start = started.get(query.__knexQueryUid);
    if (start === undefined) return;
    const sql = query.sql.replace(/\s+/g, ' ').slice(0, 90);
    process.stderr.write(
      `[sql] at ${(start - origin).toFixed(0).padStart(6)} ms  ${(performance.now() - start).toFixed(1).padStart(7)} ms  ${sql}\n`,
    );
  });
}

async function run(task: WorkerTask): Promise<StepResult | { url: string } | HostileFigures> {
  switch (task.task) {
    case 'preview':
      return withContainer(task.env, (container) =>
        measure(() => previewSync(container, { locationId: task.locationId, adminId: task.adminId }), task.cpu),
      );
    case 'preview-job':
      return withContainer(task.env, async (container) => {
        // The worker polls for jobs; started before the clock, as a running instance's is.
        await container.services.syncJobs.start();
        try {
          return await measure(() => previewThroughJob(container, { locationId: task.locationId, adminId: task.adminId }), task.cpu);
        } finally {
          await container.services.syncJobs.stop();
        }
      });
    case 'fetch':
      return withContainer(task.env, (container) => measure(() => fetchOnly(container, task.locationId), task.cpu));
    case 'execute':
      return withContainer(task.env, (container) =>
        measure(() => executePlan(container, { runId: task.runId, locationId: task.locationId, adminId: task.adminId }), task.cpu),
      );
    case 'floor':
      return measure(async () => ({ ...(await runFloor(task)) }));
    case 'baseline':
      return measure(async () => ({ ...(await runPerRowBaseline(task)) }));
    case 'serve': {
      const config = loadConfig(task.env);
      const logger = createLogger(config);
      const instance = await startInstance({ config, logger, databaseUrl: task.env.DATABASE_URL! });
      process.on('message', (message) => {
        if (message === 'stop') void instance.stop().then(() => process.exit(0));
      });
      return { url: instance.url };
    }
    case 'hostile':
      return previewHostileRemote(task);
  }
}

const task = JSON.parse(process.env.BENCH_TASK ?? 'null') as WorkerTask;
run(task).then(
  (result) => {
    process.send!({ ok: true, result }, () => {
      if (task.task !== 'serve') process.exit(0);
    });
  },
  (error: unknown) => {
    const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
    process.send!({ ok: false, error: message }, () => process.exit(1));
  },
);
