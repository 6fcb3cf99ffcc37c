import type { Request, Response } from 'express';
import { rateLimit } from 'express-rate-limit';

const accountKey = (req: Request) =>
  `api-account:${typeof req.body?.email === 'string' ? req.body.email.trim().toLowerCase() : ''}`;

/** The API login's limits on failed attempts, per address and per account, answered in JSON. */
export function createApiLoginRateLimiters(limit: { max: number; windowMs: number }) {
  const tooMany = (req: Request, res: Response) => {
    const minutes = Math.ceil(limit.windowMs / 60_000);
    req.log.warn({ reason: 'too many failed logins', limit: limit.max, windowMinutes: minutes }, 'api login throttled');
    res.status(429).json({ error: `Too many failed logins. Wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.` });
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
