import { Router } from 'express';
import type { Config } from '../platform/config';
import type { Csrf } from '../platform/http/csrf';
import type { LanguageStore } from '../platform/i18n/language.controller';
import { createAuthController } from './auth.controller';
import type { AuthService } from './auth.service';
import { createLoginRateLimiters } from './login-rate-limit';

/** Sign-in and sign-out pages (session, CSRF and layout already applied by the caller). */
export function createAuthRoutes(deps: {
  auth: AuthService;
  sessionCookieName: string;
  loginRateLimit: Config['loginRateLimit'];
  csrf: Csrf;
  languages: LanguageStore;
}): Router {
  const router = Router();
  const { csrf } = deps;
  const auth = createAuthController({ auth: deps.auth, sessionCookieName: deps.sessionCookieName, csrf, languages: deps.languages });
  const loginLimiters = createLoginRateLimiters(deps.loginRateLimit, deps.auth);

  router.get('/', (req, res) => res.redirect(303, req.currentUser ? '/admin/users' : '/login'));
  router.get('/login', csrf.exposeLogin, auth.showLogin);
  router.post('/login', csrf.exposeLogin, csrf.protectLogin, ...loginLimiters, auth.login);
  router.post('/logout', auth.logout);
  return router;
}
