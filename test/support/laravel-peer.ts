import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_REMOTE_CREDENTIALS } from './laravel-server';

/**
 * A genuine Laravel 8 app (test/peers/laravel, on Debian's php-laravel-framework) as a remote: its own
 * SQLite database in a temp folder, migrated with `php artisan migrate`, served by `php -S`. Each
 * pagination style has its own base path, so a location's online URL picks the style it syncs from.
 */

export type LaravelPeerStyle = 'paginate' | 'simple' | 'cursor' | 'resource' | 'cursor-resource';

export const LARAVEL_PEER_STYLES: readonly LaravelPeerStyle[] = ['paginate', 'simple', 'cursor', 'resource', 'cursor-resource'];

/** A user to write into the Laravel database: with `id` that user is updated, else the one with that email. */
export interface PeerUserInput {
  id?: number;
  email: string;
  name?: string;
  role?: string | null;
  is_active?: boolean;
  password?: string;
}

/** A row of the Laravel users table, as Eloquent reads it. */
export interface PeerUser {
  id: number;
  email: string;
  name: string;
  role: string | null;
  is_active: boolean;
}

/** A request the Laravel app answered, as its RecordRequests middleware wrote it down. */
export interface PeerRequest {
  method: string;
  /** Without the query, e.g. /cursor/api/users */
  path: string;
  query: Record<string, string>;
  status: number;
  /** Whether an Authorization: Bearer header came (the token itself is never recorded). */
  bearer: boolean;
}

export interface LaravelPeer {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** The online URL of a location that syncs from this peer in the given style. */
  urlFor(style: LaravelPeerStyle): string;
  /** The API account (a user of the Laravel app, role "api"), matching REMOTE_ENV of the sync tests. */
  apiAccount: { email: string; password: string };
  /** Inserts or updates users in one transaction; returns them as saved. */
  putUsers(users: PeerUserInput[]): Promise<PeerUser[]>;
  /** Marks the users with these emails inactive (or active again). */
  setActive(emails: string[], active: boolean): Promise<PeerUser[]>;
  /** Deletes the users with these emails; returns how many were deleted. */
  removeUsers(emails: string[]): Promise<number>;
  /** Every user of the Laravel database by id, the API account included. */
  users(): Promise<PeerUser[]>;
  /** Every request answered so far, in order. */
  requests(): Promise<PeerRequest[]>;
  /** What the php server wrote (its access log and Laravel's errors), for failure messages. */
  serverLog(): string;
  close(): Promise<void>;
}

const APP_DIR = fileURLToPath(new URL('../peers/laravel/', import.meta.url));
const START_TIMEOUT_MS = 15_000;

/** Why the peer cannot run here (no php, no pdo_sqlite, no Laravel framework), or undefined when it can. */
export function laravelPeerUnavailable(): string | undefined {
  const probe = spawnSync(
    'php',
    [
      '-r',
      'echo json_encode(["sqlite" => extension_loaded("pdo_sqlite"), "laravel" => (bool) stream_resolve_include_path("Illuminate/autoload.php")]);',
    ],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (probe.error || probe.status !== 0) return 'php is not installed (apt-get install php-cli php-sqlite3 php-laravel-framework)';
  const found = JSON.parse(probe.stdout) as { sqlite: boolean; laravel: boolean };
  if (!found.sqlite) return "php's SQLite driver is not installed (apt-get install php-sqlite3)";
  if (!found.laravel) return "Debian's Laravel framework is not installed (apt-get install php-laravel-framework)";
  return undefined;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: APP_DIR, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr || stdout}`));
    });
    child.stdin.end(input ?? '');
  });
}

/** Starts `php -S` on a port the OS picks and resolves with the origin it reports. */
function serve(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; origin: string; log: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('php', ['-S', '127.0.0.1:0', '-t', 'public', 'server.php'], { cwd: APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const fail = (reason: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`the Laravel peer did not start: ${reason}\n${output}`));
    };
    const timer = setTimeout(() => fail(`no "Development Server … started" within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const onData = (chunk: string) => {
      output += chunk;
      const started = /Development Server \((http:\/\/127\.0\.0\.1:\d+)\) started/.exec(output);
      if (started) {
        clearTimeout(timer);
        resolve({ child, origin: started[1]!, log: () => output });
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', onData);
    child.on('error', (error) => fail(error.message));
    child.on('exit', (code) => fail(`php exited with ${code}`));
  });
}

/** Waits until Laravel itself answers (a JSON 404 for an unknown path), not just the socket. */
async function waitUntilAnswering(origin: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${origin}/up`, { headers: { Accept: 'application/json' } });
      await response.text();
      if (response.status === 404 && response.headers.get('content-type')?.startsWith('application/json')) return;
      lastError = new Error(`answered ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the Laravel peer at ${origin} never answered: ${String(lastError)}`);
}

export async function startLaravelPeer(
  options: { users?: PeerUserInput[]; apiAccount?: { email: string; password: string } } = {},
): Promise<LaravelPeer> {
  const apiAccount = options.apiAccount ?? DEFAULT_REMOTE_CREDENTIALS;
  const dir = await mkdtemp(path.join(tmpdir(), 'sinkron-laravel-peer-'));
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  try {
    const storage = path.join(dir, 'storage');
    await mkdir(path.join(storage, 'framework', 'views'), { recursive: true });
    await mkdir(path.join(storage, 'logs'), { recursive: true });
    const database = path.join(dir, 'database.sqlite');
    await writeFile(database, '');
    const requestLog = path.join(dir, 'requests.jsonl');
    await writeFile(requestLog, '');
    // Only what the app reads: the test process's own variables (DATABASE_URL, secrets) stay out.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      APP_ENV: 'testing',
      DB_DATABASE: database,
      JWT_SECRET: randomBytes(32).toString('hex'),
      PEER_STORAGE_PATH: storage,
      PEER_REQUEST_LOG: requestLog,
      APP_PACKAGES_CACHE: path.join(dir, 'packages.php'),
      APP_SERVICES_CACHE: path.join(dir, 'services.php'),
    };
    const artisan = (args: string[], input?: string) => run('php', ['artisan', ...args, '--no-interaction'], env, input);

    await artisan(['migrate', '--force']);
    const putUsers = async (users: PeerUserInput[]) => JSON.parse(await artisan(['peer:put-users'], JSON.stringify(users))) as PeerUser[];
    await putUsers([{ email: apiAccount.email, password: apiAccount.password, name: 'Sinkron API', role: 'api' }, ...(options.users ?? [])]);

    server = await serve(env);
    const { origin, child } = server;
    await waitUntilAnswering(origin);
    // The start-up probe is not a request of the test's.
    await writeFile(requestLog, '');
    const log = server.log;

    return {
      origin,
      urlFor: (style) => `${origin}/${style}`,
      apiAccount,
      putUsers,
      setActive: (emails, active) => putUsers(emails.map((email) => ({ email, is_active: active }))),
      removeUsers: async (emails) => JSON.parse(await artisan(['peer:remove-users'], JSON.stringify(emails))) as number,
      users: async () => JSON.parse(await artisan(['peer:users'])) as PeerUser[],
      requests: async () =>
        (await readFile(requestLog, 'utf8'))
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as PeerRequest),
      serverLog: log,
      async close() {
        child.removeAllListeners('exit');
        if (child.exitCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    server?.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
