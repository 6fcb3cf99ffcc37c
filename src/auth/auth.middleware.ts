import type { NextFunction, Request, Response } from 'express';
import type { User } from '../users/users.queries';
import type { AuthService } from './auth.service';

// The signed-in admin, set by loadCurrentUser (module augmentation: no global namespace needed).
declare module 'express-serve-static-core' {
  interface Request {
    currentUser?: User;
  }
}

/**
 * Loads the signed-in admin on every page request, so a deactivated admin, or one whose password was reset,
 * loses access at once; a sign-in older than SESSION_MAX_HOURS ends however active it was.
 */
export function loadCurrentUser(auth: AuthService, session: { maxHours: number }) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const userId = req.session?.userId;
    if (userId !== undefined) {
      const signedInAt = req.session.signedInAt ?? 0;
      const fresh = Date.now() - signedInAt < session.maxHours * 3_600_000;
      const user = fresh ? await auth.findSignedIn(userId, 'pages', req.session.tokenVersion ?? 0) : undefined;
      if (user) req.currentUser = user;
      else await endSession(req);
    }
    res.locals.currentUser = req.currentUser;
    next();
  };
}

/** Deletes the stored session and leaves an empty one in its place (stored only if something is put in it). */
function endSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

export function requireAdmin(req: Request, res: Response, next: NextFunction): void {
  if (req.currentUser) return next();
  if (req.method === 'GET') {
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    return;
  }
  res.status(401).render('errors/error', { title: req.t('login.required'), message: req.t('login.requiredMessage'), reference: req.id });
}
