import { parse as parseCookies } from 'cookie';
import { csrfSync } from 'csrf-sync';
import type { NextFunction, Request, Response } from 'express';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const LOGIN_PATH = '/login';
const LOGIN_COOKIE_MAX_AGE_MS = 2 * 3_600_000;

/**
 * CSRF protection without a stored session for strangers.
 *
 * Signed-in pages use csrf-sync's synchroniser token, kept in the session. The sign-in form comes before
 * any session, and storing one per visitor would give every anonymous request (a 404 too) a row; so the
 * form gets a signed double-submit token instead: a random nonce in an HttpOnly cookie, and in the form
 * the nonce's HMAC under the session secret. A cross-site page can neither read the cookie nor compute the
 * HMAC, and the session starts only when the sign-in succeeds.
 */
export function createCsrf(options: { secret: string; sessionCookieName: string; secureCookies: boolean }) {
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (typeof req.body?._csrf === 'string' ? req.body._csrf : undefined),
  });
  const loginCookie = options.sessionCookieName.replace(/\.sid$/, '') + '.login';
  const sign = (nonce: string) => createHmac('sha256', options.secret).update(`sign-in form:${nonce}`).digest('base64url');
  const nonceOf = (req: Request) => {
    const nonce = parseCookies(req.headers.cookie ?? '')[loginCookie];
    return nonce && /^[A-Za-z0-9_-]{43}$/.test(nonce) ? nonce : undefined;
  };
  const refused = () => Object.assign(new Error('invalid csrf token'), { code: 'EBADCSRFTOKEN', status: 403 });

  return {
    /** Every state-changing request but the sign-in needs the session's token. */
    protect(req: Request, res: Response, next: NextFunction) {
      // The sign-in page's forms (the sign-in, its language switch) check the sign-in form's token instead.
      if (req.path === LOGIN_PATH || req.path === `${LOGIN_PATH}/language`) return next();
      csrfSynchronisedProtection(req, res, next);
    },
    /** Puts the session's token into signed-in pages, for the hidden `_csrf` field of each form. */
    expose(req: Request, res: Response, next: NextFunction) {
      if (req.session?.userId !== undefined) res.locals.csrfToken = generateToken(req);
      next();
    },
    /** The sign-in form's token: the nonce cookie is kept (other tabs' forms stay valid) or set. */
    exposeLogin(req: Request, res: Response, next: NextFunction) {
      let nonce = nonceOf(req);
      if (!nonce) {
        nonce = randomBytes(32).toString('base64url');
        res.cookie(loginCookie, nonce, {
          httpOnly: true,
          sameSite: 'lax',
          secure: options.secureCookies && req.secure,
          path: LOGIN_PATH,
          maxAge: LOGIN_COOKIE_MAX_AGE_MS,
        });
      }
      res.locals.csrfToken = sign(nonce);
      next();
    },
    protectLogin(req: Request, _res: Response, next: NextFunction) {
      const nonce = nonceOf(req);
      const sent = typeof req.body?._csrf === 'string' ? Buffer.from(req.body._csrf) : Buffer.alloc(0);
      const expected = nonce ? Buffer.from(sign(nonce)) : undefined;
      if (!expected || sent.length !== expected.length || !timingSafeEqual(sent, expected)) return next(refused());
      next();
    },
    clearLogin: (res: Response) => res.clearCookie(loginCookie, { path: LOGIN_PATH }),
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
