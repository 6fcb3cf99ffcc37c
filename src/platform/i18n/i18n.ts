import i18next, { type i18n as I18n, type TFunction } from 'i18next';
import { LanguageDetector } from 'i18next-http-middleware';
import type { Request } from 'express';
import en from './locales/en.json' with { type: 'json' };
import id from './locales/id.json' with { type: 'json' };

import { isLanguage, LANGUAGE_COOKIE, LANGUAGES, type Language } from './languages';

export { isLanguage, LANGUAGES, type Language };

export const translations: Record<Language, Record<string, unknown>> = { id, en };

declare module 'express-session' {
  interface SessionData {
    /** The language the admin chose in the header (or the one stored for them, read at sign-in). */
    language?: Language;
  }
}

/**
 * One i18next instance per app (tests build several apps with different defaults). The language comes
 * from the session (the admin's choice), then Accept-Language, then the configured default.
 */
export function createI18n(defaultLanguage: Language): I18n {
  const detector = new LanguageDetector();
  detector.addDetector({
    name: 'sinkronChoice',
    lookup: (req) => {
      const chosen = (req as Request).session?.language;
      return isLanguage(chosen) ? chosen : undefined;
    },
  });
  const instance = i18next.createInstance();
  // initAsync: false with in-memory resources: ready when init returns.
  void instance.use(detector).init({
    initAsync: false,
    resources: { id: { translation: id }, en: { translation: en } },
    supportedLngs: [...LANGUAGES],
    load: 'languageOnly',
    fallbackLng: defaultLanguage,
    // EJS escapes on output; escaping here too would show &amp; in the page.
    interpolation: { escapeValue: false },
    returnNull: false,
    // en-US counts as en: the pages (and <html lang>) have one English and one Indonesian.
    detection: {
      order: ['sinkronChoice', 'cookie', 'header'],
      lookupCookie: LANGUAGE_COOKIE,
      caches: false,
      convertDetectedLanguage: (lng: string) => lng.split('-')[0]!.toLowerCase(),
    },
  });
  return instance;
}

/** A translator for a request the i18n middleware has not reached (an error raised before it). */
export function translatorFor(i18n: I18n, req: Request): { t: TFunction; language: Language } {
  if (req.t && isLanguage(req.language)) return { t: req.t, language: req.language };
  const detected = i18n.services.languageDetector?.detect(req as never);
  const first = Array.isArray(detected) ? detected[0] : detected;
  const fallback = [i18n.options.fallbackLng].flat()[0];
  const language = isLanguage(first) ? first : isLanguage(fallback) ? fallback : 'id';
  return { t: i18n.getFixedT(language), language };
}

/**
 * Services write their messages in English for the log and the API. The ones a page shows get a key
 * here; a message without one (a URL policy's detail, a remote's error) is shown as the service wrote it.
 */
const SERVICE_MESSAGES: Array<[pattern: RegExp, key: string]> = [
  [/^Use 1 to 32 letters, digits, _ or -\.$/, 'validation.codeFormat'],
  [/^Give the location a name\.$/, 'validation.nameRequired'],
  [/^At most 200 characters\.$/, 'validation.tooLong200'],
  [/^At most 2048 characters\.$/, 'validation.tooLong2048'],
  [/^Enter an absolute http:\/\/ or https:\/\/ URL/, 'validation.urlAbsolute'],
  [/^A location with code (?<code>\S+) exists\.$/, 'validation.codeTaken'],
  [/^(?<codes>[A-Za-z0-9_-]+(?:, [A-Za-z0-9_-]+)*) already uses this URL\.$/, 'validation.urlShared'],
  [/^This instance's own location keeps its code (?<code>\S+) \(APP_LOCATION_CODE\)\.$/, 'validation.ownCode'],
  [/^This instance's own location cannot be deactivated/, 'validation.ownDeactivate'],
  [/^Enter a cron expression of 5 fields/, 'validation.cron'],
  [/^Check the highlighted fields\.$/, 'validation.summary'],
];

export function translateServiceMessage(t: TFunction, message: string): string {
  for (const [pattern, key] of SERVICE_MESSAGES) {
    const match = pattern.exec(message);
    if (match) return t(key, { ...match.groups });
  }
  return message;
}
