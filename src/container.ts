import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Config } from './config';
import { createLocationsRepository, type Location } from './repositories/locations.repository';
import { createUsersRepository } from './repositories/users.repository';
import { AuthService } from './services/AuthService';
import { LocationService } from './services/LocationService';

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
  };
  const ownLocation: Location = await repositories.locations.ensure({
    code: config.appLocation.code,
    name: config.appLocation.name,
    onlineUrl: null,
  });
  const services = {
    auth: new AuthService({ users: repositories.users, ownLocation, logger }),
    locations: new LocationService({ locations: repositories.locations }),
  };
  return { config, db, logger, ownLocation, repositories, services };
}

export type Container = Awaited<ReturnType<typeof buildContainer>>;
