/** The bench's table, for the terminal and for docs/benchmarks.md. */
import os from 'node:os';
import type { CpuTimes } from './cpu-time';
import type { PageTiming } from './users-page';

export interface SyncFigures {
  n: number;
  remote: 'laravel' | 'sinkron';
  rounds: number;
  previewMs: number;
  /** The same preview queued as a job and run by a worker, until its run reads as ready. */
  previewJobMs: number;
  executeMs: number;
  previewRssMb: number;
  executeRssMb: number;
  /** Resident set of the app process before the preview started (node + the app's modules). */
  idleRssMb: number;
  counts: Record<string, unknown>;
  /** The app's remote client alone (login, pages, JSON, validation), no database. */
  appFetchMs: number;
  appFetchRssMb: number;
  floorFetchMs: number;
  floorCopyMs: number;
  /** CPU time of the app, PostgreSQL and the remote during each step (medians); null where it cannot be read. */
  previewCpuMs: CpuTimes | null;
  executeCpuMs: CpuTimes | null;
  appFetchCpuMs: CpuTimes | null;
  problems: string[];
}

export interface BaselineFigures {
  users: number;
  /** The reference: every statement commits on its own, as in the original. */
  ms: number;
  msPerUser: number;
  /** The same loop inside one transaction: per-row at its kindest. */
  oneTransactionMsPerUser: number;
}

export interface UsersPageFigures {
  total: number;
  timings: PageTiming[];
}

const REMOTE_LABEL = { laravel: 'Laravel-shaped', sinkron: 'Sinkron' } as const;

export const TARGETS = {
  speedup: 15,
  floorRatio: 2.5,
  rssMb: 250,
  pageMs: 50,
  hundredThousandSpeedup: 50,
  hundredThousandSyncMs: 1000,
  millionSyncMs: 8000,
  millionRssMb: 300,
  sinkronFetchMs: 500,
  /** The security review's bound for /healthz while a hostile remote is read. */
  hostileHealthzP99Ms: 200,
  /** A run's page (of a run with a million unchanged users) and Sync history, at a million users. */
  runPageMs: 20,
};

const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rate = (rows: number, ms: number) => fmt(rows / (ms / 1000));

export function derived(run: SyncFigures, baseline: BaselineFigures) {
  const syncMs = run.previewMs + run.executeMs;
  const floorMs = run.floorFetchMs + run.floorCopyMs;
  const baselineMs = baseline.msPerUser * run.n;
  return { syncMs, floorMs, baselineMs, speedup: baselineMs / syncMs, floorRatio: syncMs / floorMs };
}

const signedPercent = (ratio: number) => `${ratio >= 0 ? '+' : ''}${fmt(ratio * 100, 1)}%`;

function syncTable(runs: SyncFigures[], baseline: BaselineFigures): string[] {
  const lines: string[] = [];
  lines.push('### Sync (loopback remote, local mirror = the location + 100,000 users of another location)');
  lines.push('');
  lines.push(
    '| N | remote | preview | preview rows/s | execute | execute rows/s | preview + execute | peak RSS preview / execute | per-row baseline | floor (fetch + COPY) | × faster than per-row | × floor |',
  );
  lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const run of runs) {
    const d = derived(run, baseline);
    const extrapolated = run.n === baseline.users && run.remote === 'laravel' ? '' : ' (extrapolated)';
    lines.push(
      `| ${fmt(run.n)} | ${REMOTE_LABEL[run.remote]} | ${fmt(run.previewMs)} ms | ${rate(run.n, run.previewMs)} | ${fmt(run.executeMs)} ms | ` +
        `${rate(run.n, run.executeMs)} | ${fmt(d.syncMs)} ms | ${fmt(run.previewRssMb)} / ${fmt(run.executeRssMb)} MB | ` +
        `${fmt(d.baselineMs)} ms${extrapolated} | ${fmt(d.floorMs)} ms (${fmt(run.floorFetchMs)} + ${fmt(run.floorCopyMs)}) | ` +
        `${fmt(d.speedup, 1)}× | ${fmt(d.floorRatio, 2)}× |`,
    );
  }
  lines.push('');
  lines.push(
    `Per-row baseline measured on ${fmt(baseline.users)} users: ${fmt(baseline.ms)} ms, ${fmt(baseline.msPerUser, 3)} ms a user ` +
      '(fetch included); for other N it is that figure × N. The same loop inside one transaction (per-row at its ' +
      `kindest) takes ${fmt(baseline.oneTransactionMsPerUser, 3)} ms a user: against it the sync is ` +
      runs.map((r) => `${fmt((baseline.oneTransactionMsPerUser * r.n) / derived(r, baseline).syncMs, 1)}×`).join(', ') +
      ' faster.',
  );
  lines.push(
    `Where the preview's time goes: the app's remote client alone (login, every page, JSON, validation; no SQL) takes ` +
      runs.map((r) => `${fmt(r.appFetchMs)} ms at N=${fmt(r.n)} from ${REMOTE_LABEL[r.remote]} (peak ${fmt(r.appFetchRssMb)} MB)`).join(', ') +
      '; the floor reads the same pages in ' +
      runs.map((r) => `${fmt(r.floorFetchMs)} ms`).join(', ') +
      ". The rest of the preview is reading the local users (one COPY), sorting each page through them, and staging, planning and saving the rows that change (with --trace-sql the preview's log line gives these phases).",
  );
  const cpuLines = runs.filter((r) => r.previewCpuMs && r.executeCpuMs && r.appFetchCpuMs);
  if (cpuLines.length > 0) {
    const cores = os.cpus().length;
    const step = (label: string, cpu: CpuTimes, wallMs: number) => {
      const total = cpu.app + cpu.postgres + cpu.remote;
      return `${label} ${fmt(cpu.app)} + ${fmt(cpu.postgres)} + ${fmt(cpu.remote)} = ${fmt(total)} ms in ${fmt(wallMs)} ms (${fmt((100 * total) / (wallMs * cores))}% of ${cores} cores)`;
    };
    lines.push(
      `CPU time during each step (app process + PostgreSQL + remote server; medians): ` +
        cpuLines
          .map(
            (r) =>
              `N=${fmt(r.n)} ${REMOTE_LABEL[r.remote]}: ${step('preview', r.previewCpuMs!, r.previewMs)}, ${step('execute', r.executeCpuMs!, r.executeMs)}, ` +
              `${step("the app's fetch alone", r.appFetchCpuMs!, r.appFetchMs)}`,
          )
          .join('; ') +
        '. Near 100% the step waits on the machine: only less work in some process makes it faster, not more overlap.',
    );
  }
  lines.push(
    "The preview through the job path (queued as a pg-boss job, run by the instance's worker, its progress written as it goes, " +
      'timed until its run reads as ready), against the inline preview above: ' +
      runs
        .map(
          (r) =>
            `N=${fmt(r.n)} ${REMOTE_LABEL[r.remote]}: ${fmt(r.previewJobMs)} ms against ${fmt(r.previewMs)} ms (${signedPercent(r.previewJobMs / r.previewMs - 1)})`,
        )
        .join('; ') +
      '.',
  );
  lines.push(`Each N ran ${runs.map((r) => r.rounds).join(', ')} round(s) on a fresh seed: times are medians, peak RSS the highest round.`);
  lines.push(`Idle app process before the preview (Node, tsx and the app's modules): ${runs.map((r) => `${fmt(r.idleRssMb)} MB`).join(', ')} RSS.`);
  lines.push(`Plan counts: ${runs.map((r) => `N=${fmt(r.n)} ${REMOTE_LABEL[r.remote]}: ${JSON.stringify(r.counts)}`).join('; ')}.`);
  const problems = runs.flatMap((r) => r.problems.map((p) => `N=${r.n}: ${p}`));
  lines.push(
    problems.length === 0
      ? 'After each execute the bench compared the database with the remote row by row (and the other location, and password hashes): no difference.'
      : `PROBLEMS: ${problems.join('; ')}`,
  );
  return lines;
}

export function renderTables(input: { runs: SyncFigures[]; baseline: BaselineFigures; usersPage?: UsersPageFigures }): string {
  const lines: string[] = [];
  if (input.runs.length > 0) lines.push(...syncTable(input.runs, input.baseline), '');
  if (input.usersPage) {
    lines.push(`### User Management at ${fmt(input.usersPage.total)} users (real app over HTTP, signed in; a freshly loaded database of its own)`);
    lines.push('');
    lines.push('| page | request | median | p95 | rows shown |');
    lines.push('|---|---|---:|---:|---:|');
    for (const t of input.usersPage.timings) {
      lines.push(`| ${t.label} | \`${t.path}\` | ${fmt(t.medianMs, 1)} ms | ${fmt(t.p95Ms, 1)} ms | ${t.rows} |`);
    }
    lines.push('');
  }
  lines.push(
    `Targets: ≥ ${TARGETS.speedup}× faster than per-row, ≤ ${TARGETS.floorRatio}× the floor, peak RSS < ${TARGETS.rssMb} MB at 100,000, ` +
      `users page medians < ${TARGETS.pageMs} ms at 1,000,000; at 100,000 from the Laravel-shaped remote ≥ ${TARGETS.hundredThousandSpeedup}× per-row and ` +
      `preview + execute ≤ ${fmt(TARGETS.hundredThousandSyncMs)} ms; preview + execute ≤ ${fmt(TARGETS.millionSyncMs)} ms with peak RSS ≤ ${TARGETS.millionRssMb} MB ` +
      `at 1,000,000; the app's fetch of 100,000 users from a Sinkron instance ≤ ${TARGETS.sinkronFetchMs} ms.`,
  );
  return lines.join('\n');
}

export function machineLine(postgresVersion: string): string {
  const cpus = os.cpus();
  const memoryGb = os.totalmem() / 1024 ** 3;
  return (
    `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${fmt(memoryGb, 1)} GB memory, ` +
    `Node ${process.version}, ${postgresVersion} (embedded), ${os.platform()} ${os.release()}`
  );
}

export function renderMarkdown(input: { date: Date; machine: string; command: string; loadBefore: number[]; tables: string }): string {
  return [
    '# Benchmarks',
    '',
    'Written by `npm run bench -- --write` (`bench/sync.bench.ts`, whose options are listed at the top of that file); run it again',
    'to refresh this page. Everything below was measured side by side in one run on one machine: an embedded',
    'PostgreSQL, a loopback remote, and the sync and the app each in a process of their own that builds the real',
    'container, so their peak RSS is theirs alone.',
    '',
    `- Date: ${input.date.toISOString()}`,
    `- Machine: ${input.machine}`,
    `- Command: \`${input.command}\``,
    `- Load average (1, 5, 15 min) before the run: ${input.loadBefore.map((l) => l.toFixed(2)).join(', ')} (other work on the machine shows here)`,
    "- Local mirror: the synced location's users plus 100,000 users of another location (with the same emails).",
    '- Change mix: 5% new, 5% changed (name, role, reactivation, remote id), 2% gone, the rest unchanged.',
    '',
    '## How to read it',
    '',
    '- **preview**: login, every remote page, validation, the local users read once and each page sorted through them, the rows that change staged and planned, the saved plan (`UserSyncService.preview`);',
    '  **execute**: the saved plan applied in one transaction (`UserSyncService.execute`). rows/s = N / time.',
    '- **remote**: *Laravel-shaped* is the test server of `test/support/laravel-server.ts` serving pages from memory',
    '  (the fastest remote possible, so the tightest floor); *Sinkron* is a second Sinkron instance with its own',
    '  database serving `/api/users`, as one instance syncing from another.',
    '- **per-row baseline**: a direct port of the original sync (all pages, then per remote user a SELECT by email and',
    '  location and an INSERT or UPDATE, then one UPDATE per missing user, each statement committing on its own),',
    '  measured once on the Laravel-shaped remote and extrapolated linearly to N.',
    '- **floor**: the same pages fetched over loopback HTTP and thrown away (the faster of one request at a time and',
    "  the app's concurrency), plus a raw COPY of N rows into a temporary table: the physical limit of this machine.",
    "- **peak RSS**: `process.resourceUsage().maxRSS` of the step's own process, Node, tsx and the app's modules included.",
    "- **CPU time**: user + system time, from /proc, of the step's process (all its threads), of every PostgreSQL",
    "  process and of the remote server's process, during the step. Their sum against the wall time and the cores",
    "  tells whether a step waits on itself or on the machine. With a Sinkron remote, PostgreSQL includes the remote's",
    '  own queries (both databases are in the one server). Where the time goes, and what was tried:',
    '  [sync-performance.md](sync-performance.md).',
    "- The bench checks every run: the plan's counts against the mix, then after execute every remote user row by row,",
    '  the gone users deactivated, the other location untouched, and no synced user with a password hash.',
    '',
    '## Results',
    '',
    input.tables,
    '',
  ].join('\n');
}
