/**
 * A value in PostgreSQL's COPY text format, where columns are separated by tabs, rows end with a
 * newline and NULL is \N. A backslash or one of the control characters COPY TO escapes (backspace, form
 * feed, newline, carriage return, tab, vertical tab) is written as its backslash escape, exactly as the
 * server writes it: so no value (not even a name that reads "\N") can end a column or a row or be taken
 * for NULL, and a value written here compares equal to the same value read from the server.
 */

const SPECIAL = /[\\\b\f\n\r\t\v]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
const UNESCAPES: Record<string, string> = { '\\': '\\', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

const HAS_SPECIAL = /[\\\b\f\n\r\t\v]/;

// One test first: almost every value has nothing to escape, and the test is cheaper than a replace.
export const copyField = (value: string | null): string =>
  value === null ? '\\N' : HAS_SPECIAL.test(value) ? value.replace(SPECIAL, (c) => ESCAPES[c]!) : value;

/** A column as COPY TO wrote it, back to its value. */
export const fromCopyText = (text: string): string | null =>
  text === '\\N' ? null : text.includes('\\') ? text.replace(/\\(.)/g, (_, c: string) => UNESCAPES[c] ?? c) : text;
