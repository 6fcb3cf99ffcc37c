import { Router } from 'express';
import type { AuthService } from '../auth/auth.service';
import type { ExternalApiService } from '../remote/external-api.service';
import { createLocationsController, type LocationSyncSummaries } from './locations.controller';
import type { LocationService } from './location.service';

/** Locations, mounted under /admin behind the sign-in check. */
export function createLocationsRoutes(deps: {
  locations: LocationService;
  externalApi: Pick<ExternalApiService, 'testConnection'>;
  auth: Pick<AuthService, 'authenticate'>;
  syncSummaries: LocationSyncSummaries;
}): Router {
  const router = Router();
  const locations = createLocationsController(deps);
  router.get('/locations', locations.index);
  router.post('/locations', locations.create);
  router.get('/locations/:id/edit', locations.edit);
  router.post('/locations/:id', locations.update);
  router.post('/locations/:id/test', locations.testConnection);
  router.post('/locations/:id/confirm-url', locations.confirmUrl);
  router.post('/locations/:id/activate', locations.setActive);
  router.post('/locations/:id/deactivate', locations.setActive);
  return router;
}
