import { Router } from 'express';
import type { LocationService } from '../locations/location.service';
import { createSyncController } from './sync.controller';
import type { SyncRunExportService } from './run-export.service';
import type { SyncJobService } from './sync-jobs.service';
import type { UserSyncService } from './user-sync.service';
import type { SyncRevertService } from './sync-revert.service';

/** Sync from Server and the sync history, mounted under /admin behind the sign-in check. */
export function createSyncRoutes(deps: {
  userSync: UserSyncService;
  syncJobs: SyncJobService;
  syncRevert: SyncRevertService;
  locations: LocationService;
  syncExport: SyncRunExportService;
}): Router {
  const router = Router();
  const sync = createSyncController(deps);
  router.post('/users/sync/preview', sync.preview);
  router.get('/users/sync/:id', sync.show);
  router.get('/users/sync/:id/export.csv', sync.exportCsv);
  router.get('/users/sync/:id/progress', sync.progress);
  router.post('/users/sync/:id/cancel', sync.cancel);
  router.post('/users/sync/:id/execute', sync.execute);
  router.post('/users/sync/:id/discard', sync.discard);
  router.post('/users/sync/:id/revert', sync.revert);
  router.get('/sync-runs', sync.history);
  return router;
}
