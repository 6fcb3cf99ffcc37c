import type { Request, Response } from 'express';
import { z } from 'zod';
import { ValidationError } from '../platform/errors';
import type { Csrf } from '../platform/http/csrf';
import { rememberLanguageAtSignIn, type LanguageStore } from '../platform/i18n/language.controller';
import { flash } from '../platform/http/flash';
import { validate } from '../platform/http/validate';
import type { AuthService } from './auth.service';
import { ATTEMPTS_WARNED_FROM, failedLoginLog, loginAccountKey } from './login-rate-limit';

const loginSchema = z.object({
  email: z.string().trim().max(320).default(''),
  password: z.string().max(1024).default(''),
});

// Where to go after signing in: a path on this site, else the start page. It comes from a link, not from
// the admin's typing, so a foreign or malformed one falls back instead of being refused.
const nextQuery = z.object({
  next: z
    .string()
    .regex(/^\/(?!\/)[^\\]*$/)
    .catch('/admin/users'),
});
const readNext = (req: Request) => validate.query(nextQuery)(req).next;
const readLogin = validate.body(loginSchema);

function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
}

/**
 * After a failed sign-in: how many more failures this address has before it must wait, once few are left.
 * Only the address waits; the right password from another one gets in.
 */
function attemptsWarning(req: Request): string | undefined {
  const attempts = req.loginAttemptsLeft;
  if (!attempts || attempts.left > ATTEMPTS_WARNED_FROM) return undefined;
  if (attempts.left === 0) return req.t('login.noAttemptsLeft', { count: attempts.waitMinutes });
  return req.t('login.attemptsLeft', { count: attempts.left, minutes: attempts.waitMinutes });
}

/** Shown back in the email field: text that looks like an address, as the admin typed it. */
const echoable = (text: string) => (/^[^\s@]+@[^\s@]+$/.test(text) ? text : '');

export function createAuthController(deps: { auth: AuthService; sessionCookieName: string; csrf: Csrf; languages: LanguageStore }) {
  return {
    showLogin(req: Request, res: Response) {
      if (req.currentUser) return res.redirect(303, '/admin/users');
      res.render('auth/login', { title: req.t('login.title'), email: '', next: readNext(req), error: undefined });
    },

    async login(req: Request, res: Response) {
      const next = readNext(req);
      let form: z.output<typeof loginSchema>;
      try {
        form = readLogin(req);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        res.status(422).render('auth/login', { title: req.t('login.title'), email: '', next, error: req.t('login.tooLong') });
        return;
      }
      const { email, password } = form;
      const user = await deps.auth.authenticate(email, password, 'pages');
      if (!user) {
        req.log.info(failedLoginLog(await loginAccountKey(req, deps.auth)), 'login failed');
        const error = [req.t('login.invalid'), attemptsWarning(req)].filter(Boolean).join(' ');
        res.status(401).render('auth/login', { title: req.t('login.title'), email: echoable(email), next, error });
        return;
      }
      // A new session id at login makes an id planted before it worthless (session fixation).
      await regenerateSession(req);
      req.session.userId = user.id;
      req.session.tokenVersion = user.tokenVersion;
      req.session.signedInAt = Date.now();
      deps.csrf.clearLogin(res);
      const language = await rememberLanguageAtSignIn(deps.languages, user.id, req, res);
      if (language) req.session.language = language;
      flash(req, 'success', req.i18n.getFixedT(language ?? req.language)('login.signedIn', { email: user.email }));
      req.log.info({ userId: user.id }, 'login succeeded');
      res.redirect(303, next);
    },

    async logout(req: Request, res: Response) {
      req.log.info({ userId: req.currentUser?.id }, 'logout');
      await destroySession(req);
      res.clearCookie(deps.sessionCookieName);
      res.redirect(303, '/login');
    },
  };
}
