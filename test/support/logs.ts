import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/platform/logger';

export interface CapturedLogs {
  logger: Logger;
  lines: string[];
  entries(): Array<Record<string, unknown>>;
  text(): string;
}

/** Every line captured in this test file, for the check that no secret reaches any log (secrets-guard.ts). */
export const capturedLines: string[] = [];

/** A real pino logger (with its redaction) whose lines the test can read. */
export function captureLogs(level: 'debug' | 'info' = 'debug'): CapturedLogs {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      const written = String(chunk).split('\n').filter(Boolean);
      lines.push(...written);
      capturedLines.push(...written);
      callback();
    },
  });
  const logger = createLogger({ log: { level, file: undefined } }, stream);
  return {
    logger,
    lines,
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => lines.join('\n'),
  };
}
