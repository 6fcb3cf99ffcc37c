import type { Request, Response } from 'express';
import { z } from 'zod';
import { INVALID_CREDENTIALS, type AuthService } from '../auth/auth.service';
import { failedLoginLog, loginAccountKey } from '../auth/login-rate-limit';
import { validate } from '../platform/http/validate';
import type { ApiTokenService } from './api-token.service';
import { API_DEFAULT_PER_PAGE, API_MAX_PER_PAGE, type UsersApiService } from './users-api.service';

const loginBody = z.object({
  email: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(1024),
});

// Laravel reads a bad page number as page 1 and clamps per_page; so does this API (remote-api contract: a
// page number or size falls back, it is never refused).
const listQuery = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).catch(1),
  per_page: z.coerce
    .number()
    .int()
    .min(1)
    .catch(API_DEFAULT_PER_PAGE)
    .transform((n) => Math.min(n, API_MAX_PER_PAGE)),
  // From our own next links; anything else is ignored, and the page number counts.
  after_id: z.coerce.number().int().min(0).max(2_147_483_647).optional().catch(undefined),
});

const readLogin = validate.body(loginBody, 'Send a JSON body with an email and a password.');
const readListQuery = validate.query(listQuery);

export function createApiController(deps: { auth: AuthService; tokens: ApiTokenService; usersApi: UsersApiService; publicUrl?: string }) {
  return {
    async login(req: Request, res: Response) {
      const { email, password } = readLogin(req);
      const user = await deps.auth.authenticate(email, password, 'api');
      if (!user) {
        req.log.info(failedLoginLog(await loginAccountKey(req, deps.auth)), 'api login failed');
        res.status(401).json({ error: INVALID_CREDENTIALS });
        return;
      }
      const { accessToken, expiresIn } = deps.tokens.issue(user);
      req.log.info({ userId: user.id }, 'api login');
      res.set('Cache-Control', 'no-store').json({ access_token: accessToken, token_type: 'bearer', expires_in: expiresIn });
    },

    async users(req: Request, res: Response) {
      const query = readListQuery(req);
      // Never from the Host header, which the client chooses: from PUBLIC_URL, or a path on this origin.
      const path = `${deps.publicUrl ?? ''}${req.baseUrl}/users`;
      const body = await deps.usersApi.pageJson({ page: query.page, perPage: query.per_page, afterId: query.after_id, path });
      // Sent as it is: res.send would hash the whole page for an ETag, which no client of a no-store answer uses.
      // (Node itself drops the body of an answer to HEAD.)
      res.set({ 'Cache-Control': 'no-store', 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(body);
    },
  };
}
