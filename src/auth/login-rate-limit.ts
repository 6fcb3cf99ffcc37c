import type { NextFunction, Request, Response } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { slowDown } from 'express-slow-down';
import type { AuthService } from './auth.service';

interface LoginLimit {
  max: number;
  windowMs: number;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The account a login names, as throttling counts it (see AuthService.loginKey). */
      loginAccount?: string;
      /**
       * How many more failures this address may have, for this account and overall, before it must wait
       * `waitMinutes` (this request counted): what the sign-in page warns of.
       */
      loginAttemptsLeft?: { left: number; waitMinutes: number };
    }
  }
}

/** An address may fail this many times the per-account limit across accounts (colleagues behind one NAT). */
const ADDRESS_FACTOR = 5;
/** The per-account delay grows by this much per failure past the limit, up to the cap. */
const DELAY_STEP_MS = 500;
const MAX_DELAY_MS = 5_000;
/** The sign-in page warns of the wait from this many attempts left (before, the count is noise). */
export const ATTEMPTS_WARNED_FROM = 3;
/** Where the limiters leave their counts on the request, for the attempts-left warning. */
const ADDRESS_COUNT = 'loginLimitAddress';
const ADDRESS_AND_ACCOUNT_COUNT = 'loginLimitAddressAndAccount';

/** What a failed sign-in may log: the account it was for, never the typed text (it may be a password). */
export const failedLoginLog = (accountKey: string) =>
  accountKey.startsWith('user:') ? { userId: Number(accountKey.slice('user:'.length)) } : { account: 'unknown' };

/** The account a login request names, looked up once per request (the limiters and the log share it). */
export async function loginAccountKey(req: Request, auth: AuthService): Promise<string> {
  if (req.loginAccount === undefined) {
    const email = typeof req.body?.email === 'string' ? req.body.email.trim().slice(0, 320) : '';
    req.loginAccount = await auth.loginKey(email);
  }
  return req.loginAccount;
}

/**
 * Failed logins, counted three ways (successful ones do not count):
 * - per address, and per address and account: refused with 429 past the limit, so one address cannot
 *   guess on;
 * - per account, from anywhere: only slowed, by a delay that grows with each failure up to a few seconds.
 *   Refusing there would let strangers lock the owner (or the hub's sync) out of an account; so the right
 *   password from an address that has not failed always gets in.
 * Accounts are keyed as the database finds them (by user id), so no spelling of an email escapes its count.
 */
function createFailedLoginLimiters(
  limit: LoginLimit,
  accountKey: (req: Request) => string | Promise<string>,
  scope: { key: string; attempts: string; logMessage: string; slowMessage: string },
  refuse: (req: Request, res: Response, message: string, minutes: number) => void | Promise<void>,
) {
  const minutes = Math.ceil(limit.windowMs / 60_000);
  const message = `Too many failed ${scope.attempts}. Wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`;
  const address = (req: Request) => ipKeyGenerator(req.ip ?? '');
  const common = {
    windowMs: limit.windowMs,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8' as const,
    legacyHeaders: false,
    handler: async (req: Request, res: Response) => {
      req.log.warn({ reason: `too many failed ${scope.attempts}`, limit: limit.max, windowMinutes: minutes }, scope.logMessage);
      await refuse(req, res, message, minutes);
    },
  };
  const perAddress = rateLimit({
    ...common,
    limit: limit.max * ADDRESS_FACTOR,
    requestPropertyName: ADDRESS_COUNT,
    keyGenerator: (req) => `${scope.key}:${address(req)}`,
  });
  const perAddressAndAccount = rateLimit({
    ...common,
    limit: limit.max,
    requestPropertyName: ADDRESS_AND_ACCOUNT_COUNT,
    keyGenerator: async (req) => `${scope.key}:${address(req)}:${await accountKey(req)}`,
  });
  const perAccount = slowDown({
    windowMs: limit.windowMs,
    skipSuccessfulRequests: true,
    delayAfter: limit.max,
    delayMs: (used) => (used - limit.max) * DELAY_STEP_MS,
    maxDelayMs: MAX_DELAY_MS,
    keyGenerator: async (req) => `${scope.key}:account:${await accountKey(req)}`,
  });
  const logDelay = (req: Request, _res: Response, next: NextFunction) => {
    const delay = (req as Request & { slowDown?: { delay: number } }).slowDown?.delay ?? 0;
    if (delay > 0) req.log.warn({ reason: `many failed ${scope.attempts} for this account`, delayMs: delay }, scope.slowMessage);
    next();
  };
  // The counts include this request: were it to fail, `left` more failures would still be answered.
  const noteAttemptsLeft = (req: Request, _res: Response, next: NextFunction) => {
    const counts = req as unknown as Record<string, RateLimitInfo | undefined>;
    const remaining = [counts[ADDRESS_COUNT], counts[ADDRESS_AND_ACCOUNT_COUNT]].flatMap((info) => (info ? [info.remaining] : []));
    if (remaining.length > 0) req.loginAttemptsLeft = { left: Math.min(...remaining), waitMinutes: minutes };
    next();
  };
  return [perAddress, perAddressAndAccount, perAccount, logDelay, noteAttemptsLeft];
}

/** The sign-in page's limiters: the refusal is the sign-in page again, with status 429. */
export const createLoginRateLimiters = (limit: LoginLimit, auth: AuthService) =>
  createFailedLoginLimiters(
    limit,
    (req) => loginAccountKey(req, auth),
    { key: 'pages', attempts: 'sign-ins', logMessage: 'sign-in throttled', slowMessage: 'sign-in slowed' },
    (req, res, _message, minutes) => {
      res.status(429).render('auth/login', {
        title: req.t('login.title'),
        email: '',
        next: '/admin/users',
        error: req.t('login.throttled', { count: minutes }),
      });
    },
  );

/** The API login's limiters: the refusal is JSON. */
export const createApiLoginRateLimiters = (limit: LoginLimit, auth: AuthService) =>
  createFailedLoginLimiters(
    limit,
    (req) => loginAccountKey(req, auth),
    { key: 'api', attempts: 'logins', logMessage: 'api login throttled', slowMessage: 'api login slowed' },
    (_req, res, message) => {
      res.status(429).json({ error: message });
    },
  );

/**
 * A signed-in admin's password confirmations (of a location's online URL), counted as sign-ins are, for the
 * session's account: on counters of their own, so that the admin pages' limiters need nothing from the
 * sign-in routes, and a limited confirmation does not also refuse the owner's sign-in from that address.
 * `refuse` answers with status 429.
 */
export const createPasswordConfirmationRateLimiters = (limit: LoginLimit, refuse: (req: Request, res: Response, minutes: number) => Promise<void>) =>
  createFailedLoginLimiters(
    limit,
    (req) => (req.currentUser ? `user:${req.currentUser.id}` : 'anonymous'),
    {
      key: 'confirm',
      attempts: 'password confirmations',
      logMessage: 'password confirmation throttled',
      slowMessage: 'password confirmation slowed',
    },
    (req, res, _message, minutes) => refuse(req, res, minutes),
  );
