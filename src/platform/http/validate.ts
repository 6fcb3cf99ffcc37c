import type { Request } from 'express';
import type { z } from 'zod';
import { ValidationError } from '../errors';

type Source = 'body' | 'query' | 'params';

/** The first message zod has for each field, keyed by the field's name (or `request` for the whole value). */
export function fieldMessages(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) fields[issue.path.map(String).join('.') || 'request'] ??= issue.message;
  return fields;
}

const reader =
  (source: Source, status: number, defaultMessage: string) =>
  <S extends z.ZodType>(schema: S, message = defaultMessage) =>
  (req: Request): z.output<S> => {
    const parsed = schema.safeParse(req[source] ?? {});
    if (parsed.success) return parsed.data;
    throw new ValidationError(message, fieldMessages(parsed.error), status);
  };

/**
 * The one way a controller reads its input: `validate.body(schema)` returns a reader of `req.body` that
 * gives the parsed value or throws a ValidationError naming each refused field. The error middleware
 * answers it with 422 JSON under /api and a 422 page with the messages elsewhere; a controller with a
 * form of its own catches it and renders the form again.
 */
export const validate = {
  body: reader('body', 422, 'Check the highlighted fields.'),
  query: reader('query', 422, 'Check the highlighted fields.'),
  // A path is a link, not something typed into a form: a malformed one is a bad request.
  params: reader('params', 400, 'The request could not be understood.'),
};
