import type { Request, Response } from 'express';
import { z } from 'zod';
import { flash, saveSession } from '../http/flash';
import { LANGUAGES, type Language } from './languages';

export interface LanguageStore {
  languageOf(userId: number): Promise<string | null>;
  setLanguage(userId: number, language: string): Promise<void>;
}

const chooseForm = z.object({
  language: z.enum(LANGUAGES),
  // Back to the page the switcher was on; only a path of this site.
  next: z
    .string()
    .regex(/^\/(?!\/)[^\\]*$/)
    .catch('/'),
});

export function createLanguageController(deps: { store: LanguageStore }) {
  return {
    /** The header's switcher: a plain form POST, so it works without JS. */
    async choose(req: Request, res: Response) {
      const { language, next } = chooseForm.parse(req.body ?? {});
      req.session.language = language;
      if (req.currentUser) await deps.store.setLanguage(req.currentUser.id, language);
      req.log.info({ userId: req.currentUser?.id, language }, 'language chosen');
      flash(req, 'success', req.i18n.getFixedT(language)('language.changed'));
      await saveSession(req);
      res.redirect(303, next);
    },
  };
}

/**
 * At sign-in: a language picked on the sign-in page becomes the admin's; otherwise the one they chose
 * before comes back into the session.
 */
export async function rememberLanguageAtSignIn(
  store: LanguageStore,
  userId: number,
  pickedBefore: Language | undefined,
): Promise<Language | undefined> {
  if (pickedBefore) {
    await store.setLanguage(userId, pickedBefore);
    return pickedBefore;
  }
  const stored = await store.languageOf(userId);
  return (LANGUAGES as readonly string[]).includes(stored ?? '') ? (stored as Language) : undefined;
}
