import type { NextFunction, Request, Response } from 'express';

/**
 * express-session sends a response's headers before its store has saved the session, and a browser
 * follows a 303 as soon as the headers arrive: the next page could then be read from the store before
 * the sign-in or the flash message is there. Saving first closes that race. Only a session that holds
 * something is saved, so an anonymous redirect still stores no row.
 */
export function saveSessionBeforeRedirect(req: Request, res: Response, next: NextFunction): void {
  const redirect = res.redirect.bind(res) as (status: number, url: string) => void;
  res.redirect = ((...args: [number, string] | [string]) => {
    const [status, url] = args.length === 2 ? args : [302, args[0]];
    const session = req.session;
    if (!session || (session.userId === undefined && !session.flash?.length)) return redirect(status, url);
    session.save((err) => (err ? next(err) : redirect(status, url)));
  }) as Response['redirect'];
  next();
}
