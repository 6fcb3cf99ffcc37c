import type { NextFunction, Request, Response } from 'express';
import type { i18n as I18n, TFunction } from 'i18next';
import type { Logger } from 'pino';
import { AppError, NotFoundError, ValidationError } from '../errors';
import { createFormatter } from '../i18n/format';
import { translateServiceMessage, translatorFor } from '../i18n/i18n';

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
  res.status(404).render('errors/404', { title: req.t('errors.notFoundTitle') });
}

/** Service messages that have a translation; any other AppError message is shown as the service wrote it. */
const KNOWN_MESSAGES: Record<string, string> = {
  'Location not found.': 'errors.locationNotFound',
  'The location changed while saving; try again.': 'errors.locationConflict',
  'The online URL or code changed meanwhile: check them and confirm again.': 'errors.confirmStale',
  'The request contains a NUL character, which no field accepts.': 'errors.nul',
  'Not found': 'errors.notFound',
};

/** What the client may be told about an error (English for the API and the log, a key for pages), and how loudly to log it. */
function describe(err: unknown): { status: number; message: string; key?: string; expected: boolean; fields?: Record<string, string> } {
  if (err instanceof ValidationError)
    return { status: err.status, message: err.message, key: KNOWN_MESSAGES[err.message], expected: true, fields: err.fields };
  if (err instanceof AppError) {
    const key = KNOWN_MESSAGES[err.message] ?? (err instanceof NotFoundError ? 'errors.notFound' : undefined);
    return { status: err.status, message: err.message, key, expected: err.expected };
  }
  const httpish = (err ?? {}) as HttpishError;
  if (httpish.code === 'EBADCSRFTOKEN') {
    return {
      status: 403,
      message: 'This form has expired or did not come from Sinkron. Go back, reload the page and try again.',
      key: 'errors.csrf',
      expected: true,
    };
  }
  const status = httpish.status ?? httpish.statusCode;
  if (status && status >= 400 && status < 500) {
    return httpish.type === 'entity.too.large'
      ? { status, message: 'The request is too large.', key: 'errors.tooLarge', expected: true }
      : { status, message: 'The request could not be understood.', key: 'errors.badRequest', expected: true };
  }
  return { status: 500, message: 'Something went wrong on our side.', key: 'errors.internal', expected: false };
}

const titleKey = (status: number) => (status === 403 ? 'errors.forbidden' : status >= 500 ? 'errors.error' : 'errors.refused');

/** The one error middleware: known errors become pages or JSON, the rest are logged with a reference id. */
export function errorHandler(logger: Logger, i18n: I18n, displayTimeZone: string) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const { status, message, key, expected, fields = {} } = describe(err);
    const reference = String(req.id ?? '');
    const log = req.log ?? logger;
    if (expected)
      log.warn({ status, reason: message, ...(Object.keys(fields).length > 0 ? { fields: Object.keys(fields) } : {}) }, 'request refused');
    else log.error({ err, reference }, 'unhandled error');
    if (isApiRequest(req)) {
      res.status(status).json(Object.keys(fields).length > 0 ? { error: message, fields } : { error: message });
      return;
    }
    // An error can come before the language middleware ran (a refused CSRF token, a NUL character).
    const { t, language } = translatorFor(i18n, req);
    const translate: TFunction = t;
    res.locals.t ??= translate;
    res.locals.lang ??= language;
    res.locals.fmt ??= createFormatter(language, displayTimeZone);
    res.locals.currentPath ??= req.path;
    res.locals.currentUrl ??= req.originalUrl;
    res.status(status).render('errors/error', {
      title: translate(titleKey(status)),
      message: key ? translate(key) : message,
      fields: Object.fromEntries(Object.entries(fields).map(([field, text]) => [field, translateServiceMessage(translate, text)])),
      reference: expected ? undefined : reference,
    });
  };
}
