import pino, { type DestinationStream, type Logger } from 'pino';
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

export function createLogger(config: Pick<Config, 'log'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.log.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { app: 'sinkron' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  if (!config.log.file) return pino(options);
  return pino(
    options,
    pino.multistream([{ stream: process.stdout }, { stream: pino.destination({ dest: config.log.file, mkdir: true }) }]),
  );
}
