import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
 * LOG_FILE opened for appending, readable by the service's user only: lines name admins, addresses and
 * remote URLs. A file left 0644 by an earlier version is tightened too.
 */
function privateLogFile(file: string): DestinationStream {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
  return pino.destination({ dest: file, mode: 0o600 });
}

/** The root of each logger createLogger made for an instance, for the other instances of the same process. */
const roots = new WeakMap<Logger, Logger>();

/**
 * JSON lines (for a log collector), or pretty-printed ones when a person watches: stdout is a terminal
 * and the config is not production's. Pretty lines are written synchronously, in this thread, so that
 * the start-up banner printed after them comes after them. Every line carries the instance (its location
 * code), the host and the process, so that lines of several instances shipped to one place stay apart.
 */
export function createLogger(
  config: Pick<Config, 'log'> & Partial<Pick<Config, 'isProduction' | 'appLocation'>>,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.log.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { app: 'sinkron', hostname: os.hostname(), pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const root = destination ? pino(options, destination) : pino(options, stdoutAndFile(config));
  if (!config.appLocation) return root;
  const logger = root.child({ instance: config.appLocation.code });
  roots.set(logger, root);
  return logger;
}

/** The same log for another instance of this process (the demo's servers): its lines name that instance instead. */
export function instanceLogger(logger: Logger, instance: string): Logger {
  return (roots.get(logger) ?? logger).child({ instance });
}

function stdoutAndFile(config: Pick<Config, 'log'> & Partial<Pick<Config, 'isProduction'>>): DestinationStream {
  const stdout =
    process.stdout.isTTY && config.isProduction === false
      ? // One coloured line per record, the time without the date, without the fields every line repeats.
        pretty({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'app,pid,hostname', sync: true })
      : process.stdout;
  if (!config.log.file) return stdout;
  return pino.multistream([{ stream: stdout }, { stream: privateLogFile(config.log.file) }]);
}
