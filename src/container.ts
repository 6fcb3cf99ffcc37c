import type { Knex } from './platform/db/knex';
import type { Logger } from 'pino';
import type { Config } from './platform/config';
import { createExpiredSessionsQueries, revokeSessions } from './auth/sessions.queries';
import { createLocationsRepository, type Location } from './locations/locations.queries';
import { createSyncRunsRepository } from './sync/data/sync-runs.queries';
import { UserManagementService } from './users/user-management.service';
import { createUsersRepository } from './users/users.queries';
import { ApiTokenService } from './api/api-token.service';
import { AuthService } from './auth/auth.service';
import { ExternalApiService } from './remote/external-api.service';
import { LocationService } from './locations/location.service';
import { createUrlPolicy } from './locations/url-policy';
import { UserSyncService } from './sync/user-sync.service';
import { supersededBy } from './sync/reasons';
import { SyncRevertService } from './sync/sync-revert.service';
import { UsersApiService } from './api/users-api.service';
import { SyncRunExportService } from './sync/run-export.service';
import { createMetricsRegistry } from './platform/metrics';
import { registerRemoteMetrics } from './remote/remote.metrics';
import { createSyncMetricsQueries } from './sync/data/sync-metrics.queries';
import { registerSyncMetrics } from './sync/sync.metrics';
import { JobQueue } from './platform/db/job-queue';
import { readSchemaState, schemaMismatch } from './platform/db/migrate';
import { Readiness } from './platform/readiness';
import { createSyncJobsRepository } from './sync/data/sync-jobs.queries';
import { SyncJobService } from './sync/sync-jobs.service';
import { createRetentionQueries } from './sync/data/retention.queries';
import { RetentionService } from './sync/retention.service';

export interface ContainerInput {
  config: Config;
  db: Knex;
  logger: Logger;
}

/**
 * Builds repositories and services in dependency order. The instance's own location is ensured here,
 * because authentication and the served API are scoped to it.
 */
export async function buildContainer({ config, db, logger }: ContainerInput) {
  const repositories = {
    locations: createLocationsRepository(db),
    users: createUsersRepository(db),
    syncRuns: createSyncRunsRepository(db),
    syncJobs: createSyncJobsRepository(db),
  };
  const ownLocation: Location = await repositories.locations.ensure({
    code: config.appLocation.code,
    name: config.appLocation.name,
    onlineUrl: null,
  });
  const urlPolicy = createUrlPolicy(config.remote.allowedHosts);
  const auth = new AuthService({ users: repositories.users, ownLocation, logger, allowAdminsOnApi: config.api.allowAdmins });
  const metrics = createMetricsRegistry();
  const remoteMetrics = registerRemoteMetrics(metrics, async () => (await repositories.locations.list()).map((location) => location.code));
  await remoteMetrics.initialise();
  const externalApi = new ExternalApiService({ remote: config.remote, urlPolicy, logger, onFailure: remoteMetrics.onFailure });
  const userSync = new UserSyncService({
    db,
    remote: externalApi,
    locations: repositories.locations,
    syncRuns: repositories.syncRuns,
    ownLocationId: ownLocation.id,
    settings: config.sync,
    logger,
    revokeSessions,
    observer: registerSyncMetrics(metrics, createSyncMetricsQueries(db)),
  });
  const locations = new LocationService({
    locations: repositories.locations,
    checkOnlineUrl: urlPolicy.checkOnlineUrl,
    onChanged: (locationId, change, code) => userSync.supersedeOpenPreviews(locationId, supersededBy(change, code)),
    ownLocationId: ownLocation.id,
  });
  const queue = new JobQueue({
    db,
    logger,
    workers: config.jobs.workers,
    // Past the remote's deadline a live job has ended: pg-boss may then free its slot.
    expireInSeconds: Math.ceil(config.remote.deadlineMs / 1000) + 15 * 60,
    migrate: config.database.migrateOnStart,
  });
  const services = {
    auth,
    userManagement: new UserManagementService({ users: repositories.users }),
    apiTokens: new ApiTokenService({ jwt: config.jwt, auth, locationCode: ownLocation.code }),
    usersApi: new UsersApiService({ db, ownLocation }),
    locations,
    externalApi,
    syncExport: new SyncRunExportService({ syncRuns: repositories.syncRuns }),
    userSync,
    /** Not started here: `start()` begins the workers (boot does, and the test app). */
    syncJobs: new SyncJobService({ userSync, jobs: repositories.syncJobs, queue, settings: config.jobs, logger, driftSchedules: locations }),
    syncRevert: new SyncRevertService({ db, settings: config.sync, logger }),
    /** Not started here either: `start()` schedules the daily purge on the queue. */
    retention: new RetentionService({
      queries: createRetentionQueries(db),
      sessions: createExpiredSessionsQueries(db),
      settings: config.retention,
      queue,
      timeZone: config.i18n.displayTimeZone,
      logger,
    }),
  };
  const readiness = new Readiness({
    schemaMismatch: async () => schemaMismatch(await readSchemaState(db)),
    jobQueueStarted: () => queue.isStarted,
  });
  return { config, db, logger, ownLocation, repositories, services, metrics, readiness };
}

export type Container = Awaited<ReturnType<typeof buildContainer>>;
