import type { NextFunction, Request, Response } from 'express';

export type FlashType = 'success' | 'error' | 'info' | 'warning';
export interface FlashMessage {
  type: FlashType;
  message: string;
}

declare module 'express-session' {
  interface SessionData {
    userId?: number;
    /** The user's token version at sign-in: a password reset since then ends the session. */
    tokenVersion?: number;
    /** When the admin signed in (ms since the epoch), for SESSION_MAX_HOURS. */
    signedInAt?: number;
    flash?: FlashMessage[];
  }
}

export function flash(req: Request, type: FlashType, message: string): void {
  req.session.flash = [...(req.session.flash ?? []), { type, message }];
}

/**
 * Moves the session's flash messages into the page being rendered, once. Taken when a view reads them,
 * so the JSON a running sync's page polls for does not swallow the message meant for the page.
 */
export function exposeFlash(req: Request, res: Response, next: NextFunction): void {
  let taken: FlashMessage[] | undefined;
  Object.defineProperty(res.locals, 'flash', {
    enumerable: true,
    configurable: true,
    get() {
      if (taken === undefined) {
        taken = req.session?.flash ?? [];
        if (req.session?.flash) delete req.session.flash;
      }
      return taken;
    },
  });
  next();
}
