import type { Request, Response } from 'express';
import { rateLimit } from 'express-rate-limit';

const accountKey = (req: Request) =>
  `account:${typeof req.body?.email === 'string' ? req.body.email.trim().toLowerCase() : ''}`;

/**
 * Failed sign-ins are limited per client address and per account, so neither one address nor a botnet
 * aimed at one account can guess on. Successful sign-ins (redirects) do not count.
 */
export function createLoginRateLimiters(limit: { max: number; windowMs: number }) {
  const tooMany = (req: Request, res: Response) => {
    const minutes = Math.ceil(limit.windowMs / 60_000);
    req.log.warn({ reason: 'too many failed sign-ins', limit: limit.max, windowMinutes: minutes }, 'sign-in throttled');
    res.status(429).render('auth/login', {
      title: 'Sign in',
      email: '',
      next: '/admin/users',
      error: `Too many failed sign-ins. Wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`,
    });
  };
  const common = {
    windowMs: limit.windowMs,
    limit: limit.max,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8' as const,
    legacyHeaders: false,
    handler: tooMany,
  };
  return [rateLimit(common), rateLimit({ ...common, keyGenerator: accountKey })];
}
