import type { Knex } from './platform/db/knex';
import type { Logger } from 'pino';
import type { Config } from './platform/config';
import { revokeSessions } from './auth/sessions.queries';
import { createLocationsRepository, type Location } from './locations/locations.queries';
import { createSyncRunsRepository } from './sync/data/sync-runs.queries';
import { createUsersRepository } from './users/users.queries';
import { ApiTokenService } from './api/api-token.service';
import { AuthService } from './auth/auth.service';
import { ExternalApiService } from './remote/external-api.service';
import { LocationService } from './locations/location.service';
import { createUrlPolicy } from './locations/url-policy';
import { UserSyncService } from './sync/user-sync.service';
import { UsersApiService } from './api/users-api.service';
import { SyncRunExportService } from './sync/run-export.service';
import { createMetricsRegistry } from './platform/metrics';
import { registerRemoteMetrics } from './remote/remote.metrics';
import { createSyncMetricsQueries } from './sync/data/sync-metrics.queries';
import { registerSyncMetrics } from './sync/sync.metrics';

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
  };
  const ownLocation: Location = await repositories.locations.ensure({
    code: config.appLocation.code,
    name: config.appLocation.name,
    onlineUrl: null,
  });
  const urlPolicy = createUrlPolicy(config.remote.allowedHosts);
  const auth = new AuthService({ users: repositories.users, ownLocation, logger, allowAdminsOnApi: config.api.allowAdmins });
  const metrics = createMetricsRegistry();
  const externalApi = new ExternalApiService({ remote: config.remote, urlPolicy, logger, onFailure: registerRemoteMetrics(metrics) });
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
  const services = {
    auth,
    apiTokens: new ApiTokenService({ jwt: config.jwt, auth, locationCode: ownLocation.code }),
    usersApi: new UsersApiService({ db, ownLocation }),
    locations: new LocationService({
      locations: repositories.locations,
      checkOnlineUrl: urlPolicy.checkOnlineUrl,
      onChanged: (locationId, reason) => userSync.supersedeOpenPreviews(locationId, reason),
    }),
    externalApi,
    syncExport: new SyncRunExportService({ syncRuns: repositories.syncRuns }),
    userSync,
  };
  return { config, db, logger, ownLocation, repositories, services, metrics };
}

export type Container = Awaited<ReturnType<typeof buildContainer>>;
