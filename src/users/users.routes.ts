import { Router } from 'express';
import type { LocationService } from '../locations/location.service';
import { createUsersController } from './users.controller';
import type { UserManagementService } from './user-management.service';

/** User Management, mounted under /admin behind the sign-in check. */
export function createUsersRoutes(deps: { userManagement: UserManagementService; locations: LocationService }): Router {
  const router = Router();
  const users = createUsersController(deps);
  router.get('/users', users.index);
  return router;
}
