import { csrfSync } from 'csrf-sync';
import type { NextFunction, Request, Response } from 'express';

export function createCsrf() {
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (typeof req.body?._csrf === 'string' ? req.body._csrf : undefined),
  });
  return {
    protect: csrfSynchronisedProtection,
    /** Puts the session's token into every page, for the hidden `_csrf` field of each form. */
    expose(req: Request, res: Response, next: NextFunction) {
      res.locals.csrfToken = generateToken(req);
      next();
    },
    regenerate: (req: Request) => generateToken(req, true),
  };
}
