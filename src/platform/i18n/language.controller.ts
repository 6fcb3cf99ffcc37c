import { parse as parseCookies } from 'cookie';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { flash } from '../http/flash';
import { validate } from '../http/validate';
import { isLanguage, LANGUAGE_COOKIE, LANGUAGES, type Language } from './languages';

const ONE_YEAR_MS = 365 * 24 * 3_600_000;

export interface LanguageStore {
  languageOf(userId: number): Promise<string | null>;
  setLanguage(userId: number, language: string): Promise<void>;
}

const chooseFormSchema = z.object({
  language: z.enum(LANGUAGES),
  // Back to the page the switcher was on; only a path of this site.
  next: z
    .string()
    .regex(/^\/(?!\/)[^\\]*$/)
    .catch('/'),
});
const chooseForm = validate.body(chooseFormSchema);

function setLanguageCookie(req: Request, res: Response, language: Language): void {
  res.cookie(LANGUAGE_COOKIE, language, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/', maxAge: ONE_YEAR_MS });
}

export function createLanguageController(deps: { store: LanguageStore }) {
  return {
    /** The header's switcher for a signed-in admin: a plain form POST (works without JS), remembered for the admin. */
    async choose(req: Request, res: Response) {
      const { language, next } = chooseForm(req);
      if (!req.currentUser) return res.redirect(303, '/login');
      req.session.language = language;
      await deps.store.setLanguage(req.currentUser.id, language);
      setLanguageCookie(req, res, language);
      req.log.info({ userId: req.currentUser.id, language }, 'language chosen');
      flash(req, 'success', req.i18n.getFixedT(language)('language.changed'));
      res.redirect(303, next);
    },

    /** The same switch on the sign-in page: a cookie only, as a stranger gets no session. */
    chooseBeforeSignIn(req: Request, res: Response) {
      const { language, next } = chooseForm(req);
      setLanguageCookie(req, res, language);
      req.log.info({ language }, 'language chosen before sign-in');
      res.redirect(303, next.startsWith('/login') ? next : '/login');
    },
  };
}

/**
 * At sign-in: the language the admin chose before comes back; an admin who never chose one keeps the
 * browser's choice from the sign-in page, which becomes theirs. The cookie follows, for after sign-out.
 */
export async function rememberLanguageAtSignIn(store: LanguageStore, userId: number, req: Request, res: Response): Promise<Language | undefined> {
  const stored = await store.languageOf(userId);
  const picked = parseCookies(req.headers.cookie ?? '')[LANGUAGE_COOKIE];
  let language: Language | undefined;
  if (isLanguage(stored)) language = stored;
  else if (isLanguage(picked)) {
    language = picked;
    await store.setLanguage(userId, picked);
  }
  if (language) setLanguageCookie(req, res, language);
  return language;
}
