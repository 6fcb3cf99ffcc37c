import { Router } from 'express';
import type { AppDeps } from '../app';
import { createAuthController } from './auth.controller';
import { createLocationsController } from '../locations/locations.controller';
import { createSyncController } from '../sync/sync.controller';
import { createUsersController } from '../users/users.controller';
import { requireAdmin } from './auth.middleware';
import { createLoginRateLimiters } from './login-rate-limit';

/** The browser-facing routes (session, CSRF and layout already applied by the caller). */
export function createPageRoutes(deps: AppDeps): Router {
  const router = Router();
  const auth = createAuthController({ auth: deps.services.auth, sessionCookieName: deps.config.session.cookieName });
  const users = createUsersController({ users: deps.repositories.users, locations: deps.services.locations });
  const locations = createLocationsController({ locations: deps.services.locations, externalApi: deps.services.externalApi });
  const sync = createSyncController({ userSync: deps.services.userSync, locations: deps.services.locations });
  const loginLimiters = createLoginRateLimiters(deps.config.loginRateLimit);

  router.get('/', (req, res) => res.redirect(303, req.currentUser ? '/admin/users' : '/login'));
  router.get('/login', auth.showLogin);
  router.post('/login', ...loginLimiters, auth.login);
  router.post('/logout', auth.logout);

  const admin = Router();
  admin.use(requireAdmin);
  admin.get('/users', users.index);
  admin.post('/users/sync/preview', sync.preview);
  admin.get('/users/sync/:id', sync.show);
  admin.post('/users/sync/:id/execute', sync.execute);
  admin.get('/sync-runs', sync.history);
  admin.get('/locations', locations.index);
  admin.post('/locations', locations.create);
  admin.get('/locations/:id/edit', locations.edit);
  admin.post('/locations/:id', locations.update);
  admin.post('/locations/:id/test', locations.testConnection);
  admin.post('/locations/:id/activate', locations.setActive);
  admin.post('/locations/:id/deactivate', locations.setActive);
  router.use('/admin', admin);
  return router;
}
