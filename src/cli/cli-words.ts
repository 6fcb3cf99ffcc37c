import { createI18n } from '../platform/i18n/i18n';
import { describeReason } from '../sync/describe-reason';
import { EXPORT_COLUMNS, type ExportColumn, type ReasonWords } from '../sync/run-export.service';

/** The CLI speaks English, as its help and messages do; its CSV names the columns by their codes. */
const english = createI18n('en').getFixedT('en');

export const reasonInEnglish: ReasonWords = (code, params) => describeReason(english, code, params);

export const csvHeaders = Object.fromEntries(EXPORT_COLUMNS.map((column) => [column, column])) as Record<ExportColumn, string>;
