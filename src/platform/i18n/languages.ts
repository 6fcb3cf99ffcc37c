export const LANGUAGES = ['id', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const isLanguage = (value: unknown): value is Language => LANGUAGES.includes(value as Language);

/** The browser's language choice: the sign-in page has no session, and the choice outlives a sign-out. */
export const LANGUAGE_COOKIE = 'sinkron.lang';
