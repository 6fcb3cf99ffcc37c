import { Router } from 'express';
import type { Csrf } from '../http/csrf';
import { createLanguageController, type LanguageStore } from './language.controller';

/**
 * The header's language switch. Signed in: `/language` (the session's CSRF token). On the sign-in page:
 * `/login/language`, under the sign-in form's cookie path and checked with that form's token.
 */
export function createLanguageRoutes(deps: { store: LanguageStore; csrf: Csrf }): Router {
  const router = Router();
  const language = createLanguageController(deps);
  router.post('/language', language.choose);
  router.post('/login/language', deps.csrf.exposeLogin, deps.csrf.protectLogin, language.chooseBeforeSignIn);
  return router;
}
