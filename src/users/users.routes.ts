import { Router } from 'express';
import type { LocationService } from '../locations/location.service';
import { createUsersController } from './users.controller';
import type { UsersRepository } from './users.queries';

/** User Management, mounted under /admin behind the sign-in check. */
export function createUsersRoutes(deps: { users: UsersRepository; locations: LocationService }): Router {
  const router = Router();
  const users = createUsersController(deps);
  router.get('/users', users.index);
  return router;
}
