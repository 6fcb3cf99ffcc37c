import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { AppError, ValidationError } from '../errors';

interface HttpishError {
  status?: number;
  statusCode?: number;
  code?: string;
  type?: string;
  expose?: boolean;
}

const isApiRequest = (req: Request) => req.originalUrl.startsWith('/api/') || req.originalUrl === '/api';

export function notFound(req: Request, res: Response): void {
  if (isApiRequest(req)) {
    res.status(404).json({ error: 'Not found' });
    return;
  }
  res.status(404).render('errors/404', { title: 'Page not found' });
}

/** What the client may be told about an error, and how loudly to log it. */
function describe(err: unknown): { status: number; message: string; expected: boolean; fields?: Record<string, string> } {
  if (err instanceof ValidationError) return { status: err.status, message: err.message, expected: true, fields: err.fields };
  if (err instanceof AppError) return { status: err.status, message: err.message, expected: err.expected };
  const httpish = (err ?? {}) as HttpishError;
  if (httpish.code === 'EBADCSRFTOKEN') {
    return {
      status: 403,
      message: 'This form has expired or did not come from Sinkron. Go back, reload the page and try again.',
      expected: true,
    };
  }
  const status = httpish.status ?? httpish.statusCode;
  if (status && status >= 400 && status < 500) {
    const message = httpish.type === 'entity.too.large' ? 'The request is too large.' : 'The request could not be understood.';
    return { status, message, expected: true };
  }
  return { status: 500, message: 'Something went wrong on our side.', expected: false };
}

/** The one error middleware: known errors become pages or JSON, the rest are logged with a reference id. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const { status, message, expected, fields = {} } = describe(err);
    const reference = String(req.id ?? '');
    const log = req.log ?? logger;
    if (expected)
      log.warn({ status, reason: message, ...(Object.keys(fields).length > 0 ? { fields: Object.keys(fields) } : {}) }, 'request refused');
    else log.error({ err, reference }, 'unhandled error');
    if (isApiRequest(req)) {
      res.status(status).json(Object.keys(fields).length > 0 ? { error: message, fields } : { error: message });
      return;
    }
    res.status(status).render('errors/error', {
      title: status === 403 ? 'Forbidden' : status >= 500 ? 'Error' : 'Request refused',
      message,
      fields,
      reference: expected ? undefined : reference,
    });
  };
}
