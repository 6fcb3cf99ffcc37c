import 'dotenv/config';
import { pipeline } from 'node:stream/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Container } from '../container';
import type * as CliWordsModule from './cli-words';

type CliWords = typeof CliWordsModule;
import type { SyncRun } from '../sync/data/sync-runs.queries';
import type { RetentionReport } from '../sync/retention.service';
import type { ExecuteOutcome } from '../sync/user-sync.service';
import { runCounts } from '../sync/run-counts';

/** The CLI's English words for stored reasons and its CSV's header: loaded with a command (not for --help). */
let words: CliWords;

/** Documented in the README: cron jobs and runbooks branch on these. */
export const EXIT = { done: 0, failure: 1, needsConfirmation: 2, notExecutable: 3 } as const;

const COMMON_HELP = `  --as <email>   the admin of this instance the command acts as (required; recorded as "via CLI")
  -h, --help     this help`;

const HELP = {
  main: `Usage: npm run sync -- <command> [options] --as <admin email>

Sync from Server without the browser, on the same services as the admin pages.

Commands:
  preview <LOCATION>   fetch the location's users and save the plan; prints the counts and the run id
  execute <run>        apply a saved plan (--confirm <CODE> when the deactivation guard asks for it)
  show <run>           a run's status and counts
  runs                 the sync history, newest first
  export <run>         the run's plan (or what it did) as CSV on stdout
  revert <run>         plan the revert of a completed run as a preview of its own; execute it like any run
  purge [--dry-run]    remove the per-user details of runs older than AUDIT_RETENTION_DAYS now (no --as)

Exit codes: 0 done, 1 failure, 2 the guard needs --confirm <CODE>, 3 the preview is stale, expired or superseded.
Run \`npm run sync -- <command> --help\` for a command's options.`,
  preview: `Usage: npm run sync -- preview <LOCATION> --as <email> [--json]

Fetches every user of the location from its server and saves the plan as a sync run; nothing changes yet.
Prints the counts and the run id (exit 0), or why the fetch failed (exit 1).
  --json         print one JSON object instead of text
${COMMON_HELP}`,
  execute: `Usage: npm run sync -- execute <run> --as <email> [--confirm <CODE>] [--accept-conflicts <ids|all>] [--json]

Applies the saved plan of the run in one transaction, exactly as previewed, or nothing.
Exit 0 when applied (or already applied), 2 when the deactivation guard needs --confirm with the location
code, 3 when the preview is stale, expired or superseded (run the preview again), 1 on failure.
  --confirm <CODE>  the location code exactly as shown (capitals), to confirm a plan that deactivates many users
  --accept-conflicts <ids|all>
                    a revert's conflicts to revert too: item ids, comma-separated, or all (others are left alone)
  --json            print one JSON object instead of text
${COMMON_HELP}`,
  show: `Usage: npm run sync -- show <run> --as <email> [--json]

A run's status, counts, and who previewed and executed it (and whether in the web or the CLI).
  --json         print the run as JSON
${COMMON_HELP}`,
  runs: `Usage: npm run sync -- runs --as <email> [--location <CODE>] [--json]

The latest 50 sync runs, newest first.
  --location <CODE>  only the runs of this location
  --json             print a JSON array
${COMMON_HELP}`,
  export: `Usage: npm run sync -- export <run> --as <email> > plan.csv

Writes the run's plan (or, once executed, what it did) as CSV to stdout, one line per user:
category, reason, email, name, role, status, and each changed field as "field: before → after".
${COMMON_HELP}`,
  revert: `Usage: npm run sync -- revert <run> --as <email> [--json]

Plans the way back from a completed run as a revert preview (a run of its own): users it added are
deactivated, users it updated get their values before it back, users it deactivated are reactivated; users
changed since are conflicts, left alone unless accepted. Nothing changes yet: execute the printed run.
Exit 0 with the revert's run id, 1 when the run cannot be reverted (with the reason).
  --json         print one JSON object instead of text
${COMMON_HELP}`,
  purge: `Usage: npm run sync -- purge [--dry-run] [--json]

Audit retention, as the daily job does it: runs created more than AUDIT_RETENTION_DAYS days ago lose their
per-user items and unchanged-id arrays; each keeps its summary (who, when, counts, outcome), and its page
says the details were removed. A run that can still be reverted keeps everything. Expired sessions go too.
Needs no --as: it removes only what the configured retention removes every night, and acts for no admin.
  --dry-run      count what would go; change nothing
  --json         print one JSON object instead of text
  -h, --help     this help`,
} as const;

type Command = Exclude<keyof typeof HELP, 'main'>;

const common = { as: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
const json = { json: { type: 'boolean' } } as const;
const OPTIONS = {
  preview: { ...common, ...json },
  execute: { ...common, ...json, confirm: { type: 'string' }, 'accept-conflicts': { type: 'string' } },
  show: { ...common, ...json },
  runs: { ...common, ...json, location: { type: 'string' } },
  export: common,
  revert: { ...common, ...json },
  purge: { help: common.help, ...json, 'dry-run': { type: 'boolean' } },
} as const satisfies Record<Command, ParseArgsConfig['options']>;

/** Positional arguments each command takes. */
const POSITIONALS: Record<Command, string[]> = {
  preview: ['LOCATION'],
  execute: ['run'],
  show: ['run'],
  runs: [],
  export: ['run'],
  revert: ['run'],
  purge: [],
};

/** Commands that act for no admin: maintenance an operator runs, recorded in the log rather than on a run. */
const WITHOUT_ADMIN: ReadonlySet<Command> = new Set(['purge']);

class UsageError extends Error {}

interface Invocation {
  command: Command;
  positionals: string[];
  values: { as?: string; help?: boolean; json?: boolean; confirm?: string; location?: string; 'accept-conflicts'?: string; 'dry-run'?: boolean };
}

function parseInvocation(argv: string[]): Invocation | 'help' {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return 'help';
  if (!(command in OPTIONS)) throw new UsageError(`Unknown command "${command}".`);
  const name = command as Command;
  const options: ParseArgsConfig['options'] = OPTIONS[name];
  const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  const parsed: Invocation = { command: name, positionals, values: values as Invocation['values'] };
  if (parsed.values.help) return parsed;
  const wanted = POSITIONALS[name];
  if (positionals.length !== wanted.length) {
    throw new UsageError(wanted.length === 0 ? `${name} takes no arguments.` : `${name} takes ${wanted.map((w) => `<${w}>`).join(' ')}.`);
  }
  if (!WITHOUT_ADMIN.has(name) && !parsed.values.as?.trim()) throw new UsageError('--as <email> is required: the admin this command acts as.');
  return parsed;
}

function runId(text: string): number {
  const id = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647) throw new UsageError(`Not a run id: ${text}`);
  return id;
}

const time = (date: Date | null) => (date ? `${date.toISOString().replace('T', ' ').slice(0, 19)} UTC` : '—');

/** The run as --json prints it: what a script needs, never the unchanged users' ids. */
const runJson = (run: SyncRun) => ({
  id: run.id,
  location: run.locationCode,
  status: run.status,
  ...(run.revertsRunId === null ? {} : { revertsRunId: run.revertsRunId }),
  counts: runCounts(run),
  localActive: run.localActiveCount,
  guardRequired: run.guardRequired,
  error: run.error,
  previewedBy: run.previewedByEmail,
  previewedVia: run.previewedVia,
  previewMs: run.previewMs,
  expiresAt: run.expiresAt,
  executedBy: run.executedByEmail,
  executedVia: run.executedVia,
  executedAt: run.executedAt,
  executeMs: run.executeMs,
  createdAt: run.createdAt,
});

function describeRun(run: SyncRun): string {
  const c = runCounts(run);
  const via = (how: string | null) => (how === 'cli' ? ' via CLI' : '');
  return [
    `Run ${run.id}: ${run.locationCode} (${run.locationName}), ${run.status}${run.revertsRunId === null ? '' : `, revert of run ${run.revertsRunId}`}`,
    `  previewed by ${run.previewedByEmail ?? '(removed admin)'}${via(run.previewedVia)} at ${time(run.createdAt)}`,
    ...(run.executedAt ? [`  executed by ${run.executedByEmail ?? '(removed admin)'}${via(run.executedVia)} at ${time(run.executedAt)}`] : []),
    ...(run.status === 'previewed' ? [`  expires at ${time(run.expiresAt)}`] : []),
    ...(run.error ? [`  error: ${run.error}`] : []),
    run.revertsRunId === null
      ? `  remote ${c.remote}, new ${c.new}, update ${c.update}, deactivate ${c.deactivate}, unchanged ${c.unchanged}, rejected ${c.rejected}`
      : `  update ${c.update}, deactivate ${c.deactivate}, conflict ${run.conflictCount} (left alone unless accepted), unchanged ${c.unchanged}`,
    ...(run.guardRequired && run.status === 'previewed' ? [`  the guard asks for confirmation: execute with --confirm ${run.locationCode}`] : []),
  ].join('\n');
}

const print = (text: string) => process.stdout.write(`${text}\n`);

async function preview(container: Container, adminId: number, invocation: Invocation): Promise<number> {
  const { services } = container;
  const location = await services.locations.getByCode(invocation.positionals[0]!);
  const { runId: id, status } = await services.userSync.preview(location.id, adminId, 'cli');
  const run = await services.userSync.findRun(id);
  if (invocation.values.json) print(JSON.stringify(runJson(run)));
  else if (status === 'failed') process.stderr.write(`Preview ${id} of ${run.locationCode} failed: ${run.error}\n`);
  else print(`${describeRun(run)}\nNext: npm run sync -- execute ${id} --as ${invocation.values.as!.trim()}`);
  return status === 'failed' ? EXIT.failure : EXIT.done;
}

const OUTCOME_EXIT: Record<ExecuteOutcome['kind'], number> = {
  completed: EXIT.done,
  'already-completed': EXIT.done,
  'confirmation-required': EXIT.needsConfirmation,
  expired: EXIT.notExecutable,
  stale: EXIT.notExecutable,
  superseded: EXIT.notExecutable,
  'not-executable': EXIT.notExecutable,
  // Outcomes of the web's hand-over to a job; the CLI executes in its own process.
  'handed-over': EXIT.done,
  'location-busy': EXIT.notExecutable,
};

function outcomeText(id: number, outcome: ExecuteOutcome): string {
  switch (outcome.kind) {
    case 'completed': {
      const { run } = outcome;
      return `Run ${id} executed: ${run.newCount} added, ${run.updateCount} updated, ${run.deactivateCount} deactivated, ${run.unchangedCount} unchanged; ${outcome.sessionsEnded} sessions ended.`;
    }
    case 'already-completed':
      return `Run ${id} had already been executed.`;
    case 'confirmation-required':
      return `Run ${id} deactivates ${outcome.run.deactivateCount} of ${outcome.run.localActiveCount} active users: run it again with --confirm ${outcome.run.locationCode} to go ahead.`;
    case 'expired':
      return `Run ${id} expired before it was executed; nothing was changed. Run the preview again.`;
    case 'stale':
      return `The users changed since preview ${id}; nothing was changed. Run the preview again.`;
    case 'superseded':
      return `${words.reasonInEnglish(outcome.reason.code, outcome.reason.params)} Run ${id} is superseded; nothing was changed. Run the preview again.`;
    case 'not-executable':
      return `Run ${id} is ${outcome.status} and cannot be executed; nothing was changed. Run the preview again.`;
    case 'handed-over':
      return `Run ${id} is being executed by a sync worker.`;
    case 'location-busy':
      return `Another sync of ${id}'s location is running; nothing was changed. Try again when it is done.`;
  }
}

/** --accept-conflicts: "all", or item ids separated by commas. */
function acceptedConflicts(invocation: Invocation): number[] | 'all' {
  const given = invocation.values['accept-conflicts']?.trim();
  if (!given) return [];
  if (given === 'all') return 'all';
  return given.split(',').map((id) => runId(id.trim()));
}

async function execute(container: Container, adminId: number, invocation: Invocation): Promise<number> {
  const id = runId(invocation.positionals[0]!);
  const outcome = await container.services.userSync.execute(id, adminId, invocation.values.confirm, 'cli', {
    acceptedConflicts: acceptedConflicts(invocation),
  });
  const code = OUTCOME_EXIT[outcome.kind];
  if (invocation.values.json) {
    const status = outcome.kind === 'not-executable' ? { status: outcome.status } : {};
    const run = outcome.kind === 'completed' || outcome.kind === 'confirmation-required' ? { run: runJson(outcome.run) } : {};
    print(JSON.stringify({ runId: id, outcome: outcome.kind, ...status, ...run }));
  } else {
    (code === EXIT.done ? process.stdout : process.stderr).write(`${outcomeText(id, outcome)}\n`);
  }
  return code;
}

async function show(container: Container, invocation: Invocation): Promise<number> {
  const run = await container.services.userSync.findRun(runId(invocation.positionals[0]!));
  print(invocation.values.json ? JSON.stringify(runJson(run)) : describeRun(run));
  return EXIT.done;
}

async function runs(container: Container, invocation: Invocation): Promise<number> {
  const locationCode = invocation.values.location?.trim() || undefined;
  const { runs: list } = await container.services.userSync.listRuns({ locationCode, page: 1, perPage: 50 });
  if (invocation.values.json) {
    print(JSON.stringify(list.map(runJson)));
  } else if (list.length === 0) {
    print(locationCode ? `No sync runs of ${locationCode}.` : 'No sync runs yet.');
  } else {
    for (const run of list) {
      const c = runCounts(run);
      print(
        `${String(run.id).padStart(6)}  ${run.locationCode.padEnd(10)} ${run.status.padEnd(10)} ${time(run.createdAt)}  ` +
          `new ${c.new}, update ${c.update}, deactivate ${c.deactivate}, unchanged ${c.unchanged}, rejected ${c.rejected}`,
      );
    }
  }
  return EXIT.done;
}

async function revert(container: Container, adminId: number, invocation: Invocation): Promise<number> {
  const id = runId(invocation.positionals[0]!);
  const outcome = await container.services.syncRevert.preview(id, adminId, 'cli');
  if (outcome.kind === 'refused') {
    if (invocation.values.json) print(JSON.stringify({ runId: id, outcome: 'refused', reason: outcome.reason }));
    else process.stderr.write(`${outcome.reason}\n`);
    return EXIT.failure;
  }
  const run = await container.services.userSync.findRun(outcome.runId);
  if (invocation.values.json) print(JSON.stringify(runJson(run)));
  else print(`${describeRun(run)}\nNext: npm run sync -- execute ${run.id} --as ${invocation.values.as!.trim()}`);
  return EXIT.done;
}

const count = (value: number) => value.toLocaleString('en');

function describeRetention(report: RetentionReport, dryRun: boolean): string {
  return [
    `Retention: ${report.retentionDays} days (AUDIT_RETENTION_DAYS); runs created before ${time(report.cutoff)}.`,
    `${dryRun ? 'Would remove' : 'Removed'}: the details of ${count(report.runs)} runs (${count(report.items)} items, ` +
      `${count(report.arrays)} unchanged-id arrays; their summaries stay), ${count(report.sessions)} expired sessions.`,
    `Kept: ${count(report.keptRevertible)} older runs that can still be reverted.`,
  ].join('\n');
}

async function purge(container: Container, invocation: Invocation): Promise<number> {
  const dryRun = invocation.values['dry-run'] === true;
  const { retention } = container.services;
  const report = dryRun ? await retention.plan() : await retention.purge('cli');
  print(invocation.values.json ? JSON.stringify({ dryRun, ...report }) : describeRetention(report, dryRun));
  return EXIT.done;
}

async function exportCsv(container: Container, invocation: Invocation): Promise<number> {
  const { stream } = await container.services.syncExport.csv(runId(invocation.positionals[0]!), {
    headers: words.csvHeaders,
    reason: words.reasonInEnglish,
  });
  await pipeline(stream, process.stdout, { end: false });
  return EXIT.done;
}

let invocation: Invocation | 'help';
try {
  invocation = parseInvocation(process.argv.slice(2));
} catch (error) {
  const command = process.argv[2] as Command | undefined;
  const help = command && command in OPTIONS ? HELP[command] : HELP.main;
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${help}\n`);
  process.exit(EXIT.failure);
}

if (invocation === 'help') {
  print(HELP.main);
} else if (invocation.values.help) {
  print(HELP[invocation.command]);
} else {
  const called = invocation;
  // Loaded to run a command only (the database driver, the services): --help answers without them.
  const [{ runCli }, { prepareSchema }, { buildContainer }] = await Promise.all([
    import('./cli-support'),
    import('../platform/db/migrate'),
    import('../container'),
  ]);
  words = await import('./cli-words');
  await runCli(async ({ config, logger, db }) => {
    // Same schema as the app, as `npm run admin:create` does: a cron job may run before the app's first start.
    await prepareSchema(db, { migrate: config.database.migrateOnStart });
    const container = await buildContainer({ config, db, logger });
    if (called.command === 'purge') {
      process.exitCode = await purge(container, called);
      return;
    }
    const email = called.values.as!.trim();
    const admin = await container.services.auth.findAdminByEmail(email);
    if (!admin) throw new Error(`--as ${email}: no active admin of this instance (${config.appLocation.code}) has that email.`);
    try {
      switch (called.command) {
        case 'preview':
          process.exitCode = await preview(container, admin.id, called);
          break;
        case 'execute':
          process.exitCode = await execute(container, admin.id, called);
          break;
        case 'show':
          process.exitCode = await show(container, called);
          break;
        case 'runs':
          process.exitCode = await runs(container, called);
          break;
        case 'export':
          process.exitCode = await exportCsv(container, called);
          break;
        case 'revert':
          process.exitCode = await revert(container, admin.id, called);
          break;
      }
    } catch (error) {
      if (error instanceof UsageError) throw new Error(`${error.message}\n\n${HELP[called.command]}`, { cause: error });
      throw error;
    }
  });
}
