import type { NextFunction, Request, Response } from 'express';
import type { User } from '../users/users.queries';
import type { AuthService } from './auth.service';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      currentUser?: User;
    }
  }
}

/** Loads the signed-in admin on every page request, so a deactivated admin loses access at once. */
export function loadCurrentUser(auth: AuthService) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const userId = req.session?.userId;
    if (userId !== undefined) {
      const user = await auth.findSignedIn(userId);
      if (user) req.currentUser = user;
      else delete req.session.userId;
    }
    res.locals.currentUser = req.currentUser;
    next();
  };
}

export function requireAdmin(req: Request, res: Response, next: NextFunction): void {
  if (req.currentUser) return next();
  if (req.method === 'GET') {
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    return;
  }
  res.status(401).render('errors/error', { title: 'Sign in required', message: 'Please sign in again.', reference: req.id });
}
