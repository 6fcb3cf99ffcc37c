import express, { Router } from 'express';
import type { AppDeps } from '../app';

/** The remote API other Sinkron instances sync from: JSON in, JSON out, bearer tokens, no cookies. */
export function createApiRoutes(_deps: AppDeps): Router {
  const router = Router();
  router.use(express.json({ limit: '16kb' }));
  router.use((_req, res) => {
    res.status(404).json({ error: 'Not found' });
  });
  return router;
}
