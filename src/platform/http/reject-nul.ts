import type { NextFunction, Request, Response } from 'express';
import { ValidationError } from '../errors';

function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 4 || value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || holdsNul(inner, depth + 1));
}

/**
 * PostgreSQL text cannot hold U+0000: a query or form value with one would fail inside the database
 * as a 500. No real input contains it, so the request is refused up front as a bad request.
 */
export function rejectNulCharacters(req: Request, _res: Response, next: NextFunction): void {
  if (holdsNul(req.query) || holdsNul(req.body)) {
    next(new ValidationError('The request contains a NUL character, which no field accepts.'));
    return;
  }
  next();
}
