import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { normaliseEmail } from './email';
import { isTimeZone } from './i18n/format';
import { LANGUAGES, type Language } from './i18n/languages';

// Public (they are in the source tree): only the embedded demo on a loopback address may use them.
const DEV_SESSION_SECRET = 'dev-only-session-secret-change-me-0123456789';
const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me-0123456789abcdef';

const booleanFlag = z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off']).transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const positiveInt = z.coerce.number().int().positive();
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/**
 * Where clients reach this instance, as an origin and an optional path prefix (behind a proxy under a
 * sub-path), without the trailing slash.
 */
const publicUrl = z
  .url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL, e.g. https://sinkron.example.com' })
  // Checked even when the URL check above failed: only a URL that parses is looked into.
  .refine((v) => {
    const url = URL.canParse(v) ? new URL(v) : undefined;
    return !url || (url.search === '' && url.hash === '' && url.username === '' && url.password === '');
  }, 'must have no query, fragment, user name or password')
  .transform((v) => {
    const url = new URL(v);
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  });

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  EMBEDDED_DB_DIR: z.string().default('.data/postgres'),
  EMBEDDED_DB_PORT: z.coerce.number().int().min(0).max(65535).default(5433),
  EMBEDDED_DB_IN_PRODUCTION: booleanFlag.default(false),
  MIGRATE_ON_START: booleanFlag.default(true),
  DEMO: optionalString.pipe(booleanFlag.optional()),
  SESSION_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  SESSION_IDLE_MINUTES: positiveInt.default(30),
  SESSION_MAX_HOURS: positiveInt.default(12),
  TRUST_PROXY: booleanFlag.default(false),
  JWT_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  JWT_ISSUER: z.string().min(1).default('sinkron'),
  JWT_AUDIENCE: z.string().min(1).default('sinkron-api'),
  JWT_TTL_SECONDS: positiveInt.default(3600),
  API_ALLOW_ADMINS: booleanFlag.default(false),
  PUBLIC_URL: optionalString.pipe(publicUrl.optional()),
  APP_LOCATION_CODE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ or -, at most 32')
    .default('LOCAL')
    .transform((v) => v.toUpperCase()),
  APP_LOCATION_NAME: z.string().min(1).default('This instance'),
  ADMIN_EMAIL: optionalString,
  ADMIN_PASSWORD: optionalString.pipe(z.string().min(12, 'must be at least 12 characters').optional()),
  EXTERNAL_API_EMAIL: optionalString,
  EXTERNAL_API_PASSWORD: optionalString,
  LOGIN_RATE_LIMIT_MAX: positiveInt.default(10),
  LOGIN_RATE_LIMIT_WINDOW_MINUTES: positiveInt.default(15),
  REMOTE_TIMEOUT_MS: positiveInt.default(15_000),
  REMOTE_DEADLINE_MS: positiveInt.default(600_000),
  REMOTE_MAX_BYTES: positiveInt.default(4 * 1024 * 1024),
  REMOTE_PER_PAGE: positiveInt.max(1000).default(1000),
  REMOTE_MAX_PAGES: positiveInt.default(10_000),
  REMOTE_MAX_ROWS: positiveInt.default(2_000_000),
  REMOTE_READ_AHEAD_MB: positiveInt.default(64),
  REMOTE_CONCURRENCY: positiveInt.max(16).default(4),
  REMOTE_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  REMOTE_RETRY_BASE_MS: positiveInt.default(500),
  REMOTE_ALLOWED_HOSTS: optionalString,
  SYNC_PREVIEW_TTL_MINUTES: positiveInt.default(30),
  SYNC_DEACTIVATE_GUARD_PERCENT: z.coerce.number().min(0).max(100).default(20),
  SYNC_DEACTIVATE_GUARD_MIN: z.coerce.number().int().min(0).default(10),
  DEFAULT_LANGUAGE: z.enum(LANGUAGES).default('id'),
  DISPLAY_TIMEZONE: z.string().refine(isTimeZone, 'not a time zone Intl knows, e.g. Asia/Jakarta').default('Asia/Jakarta'),
  WORKERS: z.coerce.number().int().min(0).max(16).default(2),
  SYNC_STALL_SECONDS: positiveInt.max(3600).default(60),
  SYNC_PREVIEW_ATTEMPTS: positiveInt.max(5).default(2),
  AUDIT_RETENTION_DAYS: positiveInt.default(365),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FILE: optionalString,
  METRICS_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  METRICS_PORT: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().int().min(1).max(65535).optional()),
});

export type Env = z.infer<typeof envSchema>;

export interface RemoteCredentials {
  email: string;
  password: string;
  /** Where the pair comes from when not from the EXTERNAL_API_* variables (the demo's built-in account). */
  source?: string;
}

export interface Config {
  env: Env['NODE_ENV'];
  isProduction: boolean;
  http: { port: number; host: string; trustProxy: boolean };
  database: {
    url: string | undefined;
    embedded: { dir: string; port: number };
    /** false: start-up only checks the schema (the operator runs `npm run migrate`, as the owner role). */
    migrateOnStart: boolean;
  };
  demo: boolean;
  /** `cookieName` is per instance location, so instances on one host (the demo) keep their own sign-ins. */
  session: { secret: string; idleMinutes: number; maxHours: number; cookieName: string };
  /** Tokens are issued for `<audience>:<APP_LOCATION_CODE>`, so one is worth nothing at any other instance. */
  jwt: { secret: string; issuer: string; audience: string; ttlSeconds: number };
  /**
   * Whether admins may also use the served API (by default only accounts with the `api` role may), and
   * the URL its links start with (PUBLIC_URL; without it they are paths, never the request's Host).
   */
  api: { allowAdmins: boolean; publicUrl: string | undefined };
  appLocation: { code: string; name: string };
  initialAdmin: { email: string | undefined; password: string | undefined };
  loginRateLimit: { max: number; windowMs: number };
  remote: {
    timeoutMs: number;
    deadlineMs: number;
    /** The largest answer read, per request. */
    maxBytes: number;
    perPage: number;
    maxPages: number;
    /** The most rows a whole list may have. */
    maxRows: number;
    /** The bodies of the pages fetched ahead and not yet staged, in bytes (requests in flight count at maxBytes). */
    readAheadBytes: number;
    concurrency: number;
    retries: number;
    retryBaseMs: number;
    allowedHosts: string[];
    /** Credentials by upper-case location code; `*` is the default. */
    credentials: Record<string, RemoteCredentials | undefined>;
  };
  sync: { previewTtlMinutes: number; guardPercent: number; guardMin: number };
  /** The page language when neither the admin nor the browser names one, and the zone times are shown in. */
  i18n: { defaultLanguage: Language; displayTimeZone: string };
  /**
   * Sync jobs: `workers` run at a time on this instance (0: web only); a job whose instance is silent for
   * `stallSeconds` is taken over; a preview is tried `previewAttempts` times before it fails.
   */
  jobs: { workers: number; stallSeconds: number; previewAttempts: number };
  /** Days a sync run keeps its per-user details (items, unchanged ids); its summary row stays. */
  retention: { auditDays: number };
  /** How long a stop waits for running executes and requests in flight before it ends them. */
  shutdown: { graceMs: number };
  log: { level: Env['LOG_LEVEL']; file: string | undefined };
  /** /metrics: on the app's port behind a bearer token, and/or on a port of its own bound to loopback. */
  metrics: { token: string | undefined; port: number | undefined };
  /** Messages about defaults that are fine in development and wrong in production. */
  warnings: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const HOW_TO_MAKE_A_SECRET =
  "make one per instance with `openssl rand -base64 48` (or `node -e \"console.log(require('node:crypto').randomBytes(48).toString('base64'))\"`)";

/** Whether HOST keeps the app on this machine: a loopback address or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (!ipaddr.isValid(bare)) return false;
  const address = ipaddr.process(bare);
  return address.range() === 'loopback';
}

const PER_LOCATION_CREDENTIAL = /^EXTERNAL_API_([A-Z0-9_-]+)_(EMAIL|PASSWORD)$/;

/**
 * The API account the demo remote servers are seeded with, and that the demo hub signs in with when
 * EXTERNAL_API_EMAIL / EXTERNAL_API_PASSWORD are not set. Only ever used in demo mode.
 */
export const DEMO_API_CREDENTIALS: RemoteCredentials = {
  email: 'api@sinkron.demo',
  password: 'sinkron-demo-api-password',
};

function readRemoteCredentials(source: NodeJS.ProcessEnv, env: Env, demo: boolean): Config['remote']['credentials'] {
  const credentials: Config['remote']['credentials'] = {};
  if (env.EXTERNAL_API_EMAIL && env.EXTERNAL_API_PASSWORD) {
    credentials['*'] = { email: env.EXTERNAL_API_EMAIL, password: env.EXTERNAL_API_PASSWORD };
  } else if (demo && !env.EXTERNAL_API_EMAIL && !env.EXTERNAL_API_PASSWORD) {
    credentials['*'] = { ...DEMO_API_CREDENTIALS, source: 'the demo account (DEMO=1)' };
  }
  const perLocation: Record<string, Partial<RemoteCredentials>> = {};
  for (const [key, value] of Object.entries(source)) {
    const match = PER_LOCATION_CREDENTIAL.exec(key);
    if (!match || !value) continue;
    const code = match[1]!;
    const field = match[2] === 'EMAIL' ? 'email' : 'password';
    perLocation[code] = { ...perLocation[code], [field]: value };
  }
  for (const [code, partial] of Object.entries(perLocation)) {
    const email = partial.email ?? credentials['*']?.email;
    const password = partial.password ?? credentials['*']?.password;
    if (email && password) credentials[code] = { email, password };
  }
  return credentials;
}

/**
 * Reads and validates the environment once; throws a ConfigError naming every bad variable.
 * `secrets: false` is for commands that never sign a cookie or a token (`npm run migrate`): they do not
 * need SESSION_SECRET and JWT_SECRET, and get the public defaults, which they never use.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, options: { secrets?: boolean } = {}): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`));
  }
  const env = parsed.data;
  const isProduction = env.NODE_ENV === 'production';
  const problems: string[] = [];
  const warnings: string[] = [];
  const exposure = isProduction
    ? 'NODE_ENV=production'
    : env.DATABASE_URL !== undefined
      ? 'DATABASE_URL is set'
      : !isLoopbackHost(env.HOST)
        ? `HOST ${env.HOST} is not a loopback address`
        : undefined;
  // The embedded cluster is for trying Sinkron out (one machine, its data beside the app): production runs
  // on it only when the operator says so.
  if (isProduction && env.DATABASE_URL === undefined && !env.EMBEDDED_DB_IN_PRODUCTION) {
    problems.push(
      'DATABASE_URL: required when NODE_ENV=production; set it to your PostgreSQL server, or set EMBEDDED_DB_IN_PRODUCTION=1 to run on the embedded PostgreSQL (a single-machine install only)',
    );
  }
  if (exposure && options.secrets !== false) {
    for (const [name, value, publicDefault] of [
      ['SESSION_SECRET', env.SESSION_SECRET, DEV_SESSION_SECRET],
      ['JWT_SECRET', env.JWT_SECRET, DEV_JWT_SECRET],
    ] as const) {
      if (!value) problems.push(`${name}: required when ${exposure}; ${HOW_TO_MAKE_A_SECRET}`);
      else if (value === publicDefault) problems.push(`${name}: the development default is public; ${HOW_TO_MAKE_A_SECRET}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (options.secrets !== false) {
    if (!env.SESSION_SECRET) warnings.push('SESSION_SECRET is not set: using a development default');
    if (!env.JWT_SECRET) warnings.push('JWT_SECRET is not set: using a development default');
  }
  // The demo is what a fresh clone runs; a production start without a database URL gets the app alone.
  const demo = env.DEMO ?? (env.DATABASE_URL === undefined && !isProduction);

  return {
    env: env.NODE_ENV,
    isProduction,
    http: { port: env.PORT, host: env.HOST, trustProxy: env.TRUST_PROXY },
    database: {
      url: env.DATABASE_URL,
      embedded: { dir: env.EMBEDDED_DB_DIR, port: env.EMBEDDED_DB_PORT },
      migrateOnStart: env.MIGRATE_ON_START,
    },
    demo,
    session: {
      secret: env.SESSION_SECRET ?? DEV_SESSION_SECRET,
      idleMinutes: env.SESSION_IDLE_MINUTES,
      maxHours: env.SESSION_MAX_HOURS,
      cookieName: env.APP_LOCATION_CODE === 'LOCAL' ? 'sinkron.sid' : `sinkron.${env.APP_LOCATION_CODE.toLowerCase()}.sid`,
    },
    jwt: {
      secret: env.JWT_SECRET ?? DEV_JWT_SECRET,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      ttlSeconds: env.JWT_TTL_SECONDS,
    },
    api: { allowAdmins: env.API_ALLOW_ADMINS, publicUrl: env.PUBLIC_URL },
    appLocation: { code: env.APP_LOCATION_CODE, name: env.APP_LOCATION_NAME },
    initialAdmin: { email: env.ADMIN_EMAIL === undefined ? undefined : normaliseEmail(env.ADMIN_EMAIL), password: env.ADMIN_PASSWORD },
    loginRateLimit: { max: env.LOGIN_RATE_LIMIT_MAX, windowMs: env.LOGIN_RATE_LIMIT_WINDOW_MINUTES * 60_000 },
    remote: {
      timeoutMs: env.REMOTE_TIMEOUT_MS,
      deadlineMs: env.REMOTE_DEADLINE_MS,
      maxBytes: env.REMOTE_MAX_BYTES,
      perPage: env.REMOTE_PER_PAGE,
      maxPages: env.REMOTE_MAX_PAGES,
      maxRows: env.REMOTE_MAX_ROWS,
      readAheadBytes: env.REMOTE_READ_AHEAD_MB * 1024 * 1024,
      concurrency: env.REMOTE_CONCURRENCY,
      retries: env.REMOTE_RETRIES,
      retryBaseMs: env.REMOTE_RETRY_BASE_MS,
      allowedHosts: (env.REMOTE_ALLOWED_HOSTS ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
      credentials: readRemoteCredentials(source, env, demo),
    },
    sync: {
      previewTtlMinutes: env.SYNC_PREVIEW_TTL_MINUTES,
      guardPercent: env.SYNC_DEACTIVATE_GUARD_PERCENT,
      guardMin: env.SYNC_DEACTIVATE_GUARD_MIN,
    },
    i18n: { defaultLanguage: env.DEFAULT_LANGUAGE, displayTimeZone: env.DISPLAY_TIMEZONE },
    jobs: { workers: env.WORKERS, stallSeconds: env.SYNC_STALL_SECONDS, previewAttempts: env.SYNC_PREVIEW_ATTEMPTS },
    retention: { auditDays: env.AUDIT_RETENTION_DAYS },
    shutdown: { graceMs: env.SHUTDOWN_GRACE_SECONDS * 1000 },
    log: { level: env.LOG_LEVEL, file: env.LOG_FILE },
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT },
    warnings,
  };
}
