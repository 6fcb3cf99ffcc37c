import type { TFunction } from 'i18next';
import { ITEM_REASON_CODES, LEGACY_REASON, SUPERSEDED_REASON_CODES } from './reasons';

const CODES: ReadonlySet<string> = new Set([...ITEM_REASON_CODES, ...SUPERSEDED_REASON_CODES, LEGACY_REASON]);

/**
 * A stored reason in the reader's language. A rejected row's reason is still the parser's own words, not a
 * code: it comes back as it is.
 */
export function describeReason(t: TFunction, code: string | null, params?: Record<string, unknown> | null): string {
  if (code === null) return '';
  if (!CODES.has(code)) return code;
  const text = t(`reasons.${code}`, { ...params });
  return params?.accepted === true ? `${text}${t('reasons.acceptedSuffix')}` : text;
}
