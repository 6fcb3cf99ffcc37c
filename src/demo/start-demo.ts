import type { Logger } from 'pino';
import { startInstance, type RunningInstance } from '../boot';
import { DEMO_API_CREDENTIALS, type Config, type RemoteCredentials } from '../platform/config';
import { instanceLogger } from '../platform/logger';
import type { DatabaseServer } from '../platform/db/database-server';
import { DEMO_LOCATIONS, seedDemoHubLocation, seedDemoRemote, type DemoLocation } from './data/demo-seed.queries';

export interface DemoRemote {
  location: DemoLocation;
  /** The URL the hub's location points at. */
  url: string;
  instance: RunningInstance;
}

export interface RunningDemo {
  hub: RunningInstance;
  remotes: DemoRemote[];
  /** In start order (the remotes, then the hub); stop them in reverse. */
  instances: RunningInstance[];
  /** Users inserted at this start, by instance ('HUB', 'DEV', 'TEST'); all zero when the data was there. */
  inserted: Record<string, number>;
  stop(): Promise<void>;
}

export interface DemoOptions {
  /** The hub's configuration; the demo remotes derive theirs from it. */
  config: Config;
  logger: Logger;
  databases: DatabaseServer;
  /** Ports of the DEV and TEST servers; default PORT+1 and PORT+2 (free ports when PORT is 0). */
  remotePorts?: readonly number[];
  /** The demo remotes' databases are `<prefix>dev` and `<prefix>test` on the hub's server. */
  databasePrefix?: string;
}

/** The account the hub signs in to a demo remote with: the hub's configured one, so the two always match. */
export function demoApiAccount(config: Config, code: string): RemoteCredentials {
  return config.remote.credentials[code] ?? config.remote.credentials['*'] ?? DEMO_API_CREDENTIALS;
}

/** A listening address the hub can connect to: 0.0.0.0 or :: mean "every interface", not a destination. */
function reachable(url: string): string {
  const parsed = new URL(url);
  if (parsed.hostname === '0.0.0.0' || parsed.hostname === '[::]') parsed.hostname = '127.0.0.1';
  return parsed.origin;
}

function remoteConfig(hub: Config, location: DemoLocation, port: number, databaseUrl: string): Config {
  return {
    ...hub,
    http: { ...hub.http, port },
    // PUBLIC_URL is where the hub is reached, not a demo server.
    api: { ...hub.api, publicUrl: undefined },
    database: { ...hub.database, url: databaseUrl },
    demo: false,
    appLocation: { code: location.code, name: location.name },
    initialAdmin: { email: undefined, password: undefined },
    warnings: [],
  };
}

/**
 * The whole demo on one PostgreSQL server: two real Sinkron instances (DEV, TEST) serving the remote API
 * from databases of their own, then the hub with locations pointing at them. Seeds what is missing.
 */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const { config, logger, databases } = options;
  const prefix = options.databasePrefix ?? 'sinkron_demo_';
  const instances: RunningInstance[] = [];
  const stop = async () => {
    for (const instance of [...instances].reverse()) await instance.stop();
    instances.length = 0;
  };

  try {
    const inserted: Record<string, number> = { HUB: 0 };
    const remotes: DemoRemote[] = [];
    for (const [index, location] of DEMO_LOCATIONS.entries()) {
      const port = options.remotePorts?.[index] ?? (config.http.port === 0 ? 0 : config.http.port + index + 1);
      const databaseUrl = await databases.ensureDatabase(`${prefix}${location.code.toLowerCase()}`);
      const instance = await startInstance({
        config: remoteConfig(config, location, port, databaseUrl),
        logger: instanceLogger(logger, location.code),
        databaseUrl,
        // A demo remote serves its API only, to the `api` account seeded below: it needs no admin.
        createFirstAdmin: false,
      });
      instances.push(instance);
      inserted[location.code] = await seedDemoRemote(instance.container, demoApiAccount(config, location.code));
      remotes.push({ location, url: reachable(instance.url), instance });
    }

    const hub = await startInstance({ config, logger, databaseUrl: databases.url });
    instances.push(hub);
    for (const remote of remotes) {
      inserted.HUB = (inserted.HUB ?? 0) + (await seedDemoHubLocation(hub.container, remote.location, remote.url, remote.instance.container));
    }
    logger.info({ inserted, remotes: remotes.map((r) => ({ code: r.location.code, url: r.url })) }, 'demo ready');
    return { hub, remotes, instances: [...instances], inserted, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What the console shows once the demo runs. */
export function describeDemo(demo: RunningDemo, config: Config): string {
  const adminHint = demo.hub.initialAdmin?.generatedPassword
    ? `${demo.hub.initialAdmin.email} with the password printed below`
    : config.initialAdmin.email && config.initialAdmin.password
      ? `${config.initialAdmin.email} with ADMIN_PASSWORD`
      : 'the admin created at the first start (reset it with `npm run admin:create`)';
  const lines = [
    '',
    `Sinkron (hub)        ${demo.hub.url}   sign in as ${adminHint}`,
    ...demo.remotes.map(
      (r) =>
        `Demo server ${r.location.code.padEnd(8)} ${r.url}   remote API for location ${r.location.code} ` +
        `(account ${demoApiAccount(config, r.location.code).email})`,
    ),
    '',
    'Try it: User Management → pick DEV in "Sync from Server" → review the preview → Confirm & Execute.',
    'DEMO=0 runs the hub alone; Ctrl-C stops everything.',
  ];
  return lines.join('\n');
}
