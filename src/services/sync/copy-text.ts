/**
 * A value in PostgreSQL's COPY text format, where columns are separated by tabs, rows end with a
 * newline and NULL is \N. A backslash, tab, newline or carriage return inside the value is written as
 * its backslash escape, so no value (not even a name that reads "\N") can end a column or a row, or be
 * taken for NULL.
 */

const SPECIAL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export const copyField = (value: string | null): string =>
  value === null ? '\\N' : value.replace(SPECIAL, (c) => ESCAPES[c]!);

const HAS_SPECIAL = /[\\\t\n\r]/;

/** False when the value can be written as it is (NULL aside). */
export const needsCopyEscape = (value: string | null): boolean => value !== null && HAS_SPECIAL.test(value);
