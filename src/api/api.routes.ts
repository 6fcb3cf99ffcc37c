import express, { Router } from 'express';
import type { AuthService } from '../auth/auth.service';
import { createApiLoginRateLimiters } from '../auth/login-rate-limit';
import type { Config } from '../platform/config';
import { createApiController } from './api.controller';
import { requireApiToken } from './api-auth.middleware';
import type { ApiTokenService } from './api-token.service';
import type { UsersApiService } from './users-api.service';

/** The remote API other Sinkron instances sync from: JSON in, JSON out, bearer tokens, no cookies. */
export function createApiRoutes(deps: {
  auth: AuthService;
  tokens: ApiTokenService;
  usersApi: UsersApiService;
  loginRateLimit: Config['loginRateLimit'];
  publicUrl: Config['api']['publicUrl'];
}): Router {
  const router = Router();
  const api = createApiController({ auth: deps.auth, tokens: deps.tokens, usersApi: deps.usersApi, publicUrl: deps.publicUrl });
  router.use(express.json({ limit: '16kb' }));
  router.post('/auth/login', ...createApiLoginRateLimiters(deps.loginRateLimit, deps.auth), api.login);
  router.get('/users', requireApiToken(deps.tokens), api.users);
  router.use((_req, res) => {
    res.status(404).json({ error: 'Not found' });
  });
  return router;
}
