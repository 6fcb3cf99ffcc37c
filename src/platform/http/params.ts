import type { Request } from 'express';
import { z } from 'zod';
import { validate } from './validate';

/**
 * A row id from a path or a form: decimal digits only, within Postgres' integer. "1e1", "0x10", "+1"
 * or " 1" are refused (400) rather than coerced into another row's id.
 */
export const rowId = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/)
  .transform(Number)
  .pipe(z.number().max(2_147_483_647));

export const idParam = z.object({ id: rowId });

/** The `:id` of a path, as a row id; a malformed one is a 400. */
export const readId = (req: Request) => validate.params(idParam)(req).id;

/** A list's pager links: its filters kept in the given order, empty ones left out, then the page. */
export function pageUrlFor(path: string, filters: Record<string, string | undefined>): (page: number) => string {
  return (page) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(filters)) if (value) params.set(name, value);
    params.set('page', String(page));
    return `${path}?${params.toString()}`;
  };
}
