import express, { Router } from 'express';
import type { AppDeps } from '../app';
import { createApiController } from './api.controller';
import { requireApiToken } from './api-auth.middleware';
import { createApiLoginRateLimiters } from '../auth/login-rate-limit';

/** The remote API other Sinkron instances sync from: JSON in, JSON out, bearer tokens, no cookies. */
export function createApiRoutes(deps: AppDeps): Router {
  const router = Router();
  const api = createApiController({ auth: deps.services.auth, tokens: deps.services.apiTokens, usersApi: deps.services.usersApi });
  router.use(express.json({ limit: '16kb' }));
  router.post('/auth/login', ...createApiLoginRateLimiters(deps.config.loginRateLimit), api.login);
  router.get('/users', requireApiToken(deps.services.apiTokens), api.users);
  router.use((_req, res) => {
    res.status(404).json({ error: 'Not found' });
  });
  return router;
}
