import { Router } from 'express';
import type { AuthService } from '../auth/auth.service';
import { createPasswordConfirmationRateLimiters } from '../auth/login-rate-limit';
import type { Config } from '../platform/config';
import type { ExternalApiService } from '../remote/external-api.service';
import { createLocationsController, type LocationSyncSummaries } from './locations.controller';
import type { LocationService } from './location.service';

/** Locations, mounted under /admin behind the sign-in check. */
export function createLocationsRoutes(deps: {
  locations: LocationService;
  externalApi: Pick<ExternalApiService, 'testConnection'>;
  auth: Pick<AuthService, 'authenticate'>;
  syncSummaries: LocationSyncSummaries;
  /** Wrong confirmation passwords are limited as failed sign-ins are, with the same settings. */
  loginRateLimit: Config['loginRateLimit'];
}): Router {
  const router = Router();
  const locations = createLocationsController(deps);
  const confirmLimiters = createPasswordConfirmationRateLimiters(deps.loginRateLimit, locations.confirmThrottled);
  router.get('/locations', locations.index);
  router.post('/locations', locations.create);
  router.get('/locations/:id/edit', locations.edit);
  router.post('/locations/:id', locations.update);
  router.post('/locations/:id/test', locations.testConnection);
  router.post('/locations/:id/confirm-url', ...confirmLimiters, locations.confirmUrl);
  router.post('/locations/:id/activate', locations.setActive);
  router.post('/locations/:id/deactivate', locations.setActive);
  return router;
}
