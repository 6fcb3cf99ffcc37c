import type { Request, Response } from 'express';
import { rateLimit } from 'express-rate-limit';

interface LoginLimit {
  max: number;
  windowMs: number;
}

/**
 * Failed logins are limited per client address and per account, so neither one address nor a botnet
 * aimed at one account can guess on. Successful logins do not count (skipSuccessfulRequests).
 */
function createFailedLoginLimiters(
  limit: LoginLimit,
  scope: { key: string; attempts: string; logMessage: string },
  refuse: (req: Request, res: Response, message: string) => void,
) {
  const accountKey = (req: Request) => `${scope.key}:${typeof req.body?.email === 'string' ? req.body.email.trim().toLowerCase() : ''}`;
  const minutes = Math.ceil(limit.windowMs / 60_000);
  const message = `Too many failed ${scope.attempts}. Wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`;
  const common = {
    windowMs: limit.windowMs,
    limit: limit.max,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8' as const,
    legacyHeaders: false,
    handler: (req: Request, res: Response) => {
      req.log.warn({ reason: `too many failed ${scope.attempts}`, limit: limit.max, windowMinutes: minutes }, scope.logMessage);
      refuse(req, res, message);
    },
  };
  return [rateLimit(common), rateLimit({ ...common, keyGenerator: accountKey })];
}

/** The sign-in page's limiters: the refusal is the sign-in page again, with status 429. */
export const createLoginRateLimiters = (limit: LoginLimit) =>
  createFailedLoginLimiters(limit, { key: 'account', attempts: 'sign-ins', logMessage: 'sign-in throttled' }, (_req, res, message) => {
    res.status(429).render('auth/login', { title: 'Sign in', email: '', next: '/admin/users', error: message });
  });

/** The API login's limiters: the refusal is JSON. */
export const createApiLoginRateLimiters = (limit: LoginLimit) =>
  createFailedLoginLimiters(limit, { key: 'api-account', attempts: 'logins', logMessage: 'api login throttled' }, (_req, res, message) => {
    res.status(429).json({ error: message });
  });
