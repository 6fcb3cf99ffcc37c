import { createI18n } from './i18n';

/**
 * The pages' catalog in English, for words that leave Sinkron in English (log lines, the served API, the
 * CLI): one text per message in each language, the English one included.
 */
export const english = createI18n('en').getFixedT('en');
