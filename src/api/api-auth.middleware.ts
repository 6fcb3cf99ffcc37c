import type { NextFunction, Request, Response } from 'express';
import type { ApiTokenService } from './api-token.service';

/** Bearer-token auth for /api: a bad, expired or outlived token (deactivated admin) gets a JSON 401. */
export function requireApiToken(tokens: ApiTokenService) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
    const result = match ? await tokens.check(match[1]!) : { refused: header ? 'not a bearer token' : 'no Authorization header' };
    if (!('user' in result)) {
      req.log.info({ reason: result.refused }, 'api token refused');
      res.set('WWW-Authenticate', 'Bearer').status(401).json({ error: 'Unauthenticated.' });
      return;
    }
    req.currentUser = result.user;
    next();
  };
}
