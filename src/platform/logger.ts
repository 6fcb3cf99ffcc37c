import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config';

export type { Logger };

/** Every path that could carry a secret; pino replaces the value before the line is written. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'password_hash',
  '*.password_hash',
  'passwordHash',
  '*.passwordHash',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'secret',
  '*.secret',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'config.headers',
  'config.data',
  'body.password',
  'body._csrf',
];

const SENSITIVE_QUERY_KEY = /token|password|secret|passwd|pwd|api[_-]?key|auth|session|sig/i;

/**
 * A request URL for the log with the values of credential-like query parameters replaced: a client
 * that puts its token in the query string must not get it written into every log line.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const params = new URLSearchParams(url.slice(queryStart + 1));
  let redacted = false;
  for (const key of new Set(params.keys())) {
    if (SENSITIVE_QUERY_KEY.test(key)) {
      params.set(key, '[redacted]');
      redacted = true;
    }
  }
  return redacted ? `${url.slice(0, queryStart)}?${params.toString()}` : url;
}

/**
 * JSON lines (for a log collector), or pretty-printed ones when a person watches: stdout is a terminal
 * and the config is not production's. Pretty lines are written synchronously, in this thread, so that
 * the start-up banner printed after them comes after them.
 */
export function createLogger(config: Pick<Config, 'log'> & Partial<Pick<Config, 'isProduction'>>, destination?: DestinationStream): Logger {
  const options = {
    level: config.log.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { app: 'sinkron' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  const stdout =
    process.stdout.isTTY && config.isProduction === false
      ? // One coloured line per record, the time without the date, without the field every line repeats.
        pretty({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'app,pid,hostname', sync: true })
      : process.stdout;
  if (!config.log.file) return pino(options, stdout);
  return pino(options, pino.multistream([{ stream: stdout }, { stream: pino.destination({ dest: config.log.file, mkdir: true }) }]));
}
