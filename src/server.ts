import 'dotenv/config';
import { startInstance, type RunningInstance } from './boot';
import { ConfigError, loadConfig } from './platform/config';
import { openDatabaseServer } from './platform/db/database-server';
import { describeDemo, startDemo } from './demo/start-demo';
import { stopOnSignals } from './platform/shutdown';
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
  // The embedded cluster stops last, and even when an instance failed to stop. One grace for all instances.
  stopOnSignals(logger, () => {
    const deadline = Date.now() + config.shutdown.graceMs;
    return [...[...instances].reverse().map((instance) => () => instance.stop(deadline)), () => databases.stop()];
  });

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
    // In production off a terminal, stdout is a log collector's: it gets JSON lines only, and never the
    // generated password (a log is kept and shipped). A person watching, or a newcomer's `npm start`
    // (piped or not), gets the banner with it.
    const toPerson = process.stdout.isTTY || !config.isProduction;
    const admin = hub.initialAdmin;
    if (admin?.generatedPassword) {
      banner.push(
        toPerson
          ? `First admin created: ${admin.email} / ${admin.generatedPassword}\n` +
              'This password is shown once: sign in and keep it, or reset it with `npm run admin:create`.'
          : `First admin created: ${admin.email}; its password is shown only on a terminal: set one with \`npm run admin:create -- --email ${admin.email}\`.`,
      );
    }
    if (toPerson) console.log(framed(banner.join('\n\n')));
    else logger.info({ url: hub.url }, banner.join('\n\n'));
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
