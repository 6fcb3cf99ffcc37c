import { Router } from 'express';
import { createLanguageController, type LanguageStore } from './language.controller';

/** The header's language switch, for signed-in admins and the sign-in page alike. */
export function createLanguageRoutes(deps: { store: LanguageStore }): Router {
  const router = Router();
  router.post('/language', createLanguageController(deps).choose);
  return router;
}
