import { Router } from 'express';
import type { Config } from '../platform/config';
import { createAuthController } from './auth.controller';
import type { AuthService } from './auth.service';
import { createLoginRateLimiters } from './login-rate-limit';

/** Sign-in and sign-out pages (session, CSRF and layout already applied by the caller). */
export function createAuthRoutes(deps: { auth: AuthService; sessionCookieName: string; loginRateLimit: Config['loginRateLimit'] }): Router {
  const router = Router();
  const auth = createAuthController({ auth: deps.auth, sessionCookieName: deps.sessionCookieName });
  const loginLimiters = createLoginRateLimiters(deps.loginRateLimit);

  router.get('/', (req, res) => res.redirect(303, req.currentUser ? '/admin/users' : '/login'));
  router.get('/login', auth.showLogin);
  router.post('/login', ...loginLimiters, auth.login);
  router.post('/logout', auth.logout);
  return router;
}
