import express, { Router, type Express, type Request } from 'express';
import expressLayouts from 'express-ejs-layouts';
import session from 'express-session';
import helmet from 'helmet';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { handle as handleLanguage } from 'i18next-http-middleware';
import { pinoHttp } from 'pino-http';
import { createApiRoutes } from './api/api.routes';
import { loadCurrentUser, requireAdmin } from './auth/auth.middleware';
import { createAuthRoutes } from './auth/auth.routes';
import type { Container } from './container';
import { createLocationsRoutes } from './locations/locations.routes';
import { createCsrf } from './platform/http/csrf';
import { errorHandler, notFound } from './platform/http/error-handler';
import { exposeFlash } from './platform/http/flash';
import { saveSessionBeforeRedirect } from './platform/http/save-session-before-redirect';
import { rejectNulCharacters } from './platform/http/reject-nul';
import { redactUrl } from './platform/logger';
import { metricsHandler } from './platform/metrics';
import { createSyncRoutes } from './sync/sync.routes';
import { createUsersRoutes } from './users/users.routes';
import { createFormatter } from './platform/i18n/format';
import { createI18n, isLanguage } from './platform/i18n/i18n';
import { createLanguageRoutes } from './platform/i18n/language.routes';

export type AppDeps = Container & { sessionStore: session.Store };

const ROOT = path.resolve(import.meta.dirname, '..');

/** Health checks and scrapes. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Builds the Express app from its dependencies; opens no connection and listens on nothing. */
export function createApp(deps: AppDeps): Express {
  const { config, logger } = deps;
  const app = express();
  const i18n = createI18n(config.i18n.defaultLanguage);
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy ? 1 : false);
  app.set('views', path.join(ROOT, 'views'));
  app.set('view engine', 'ejs');
  app.set('layout', 'layouts/main');

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          'form-action': ["'self'"],
          'frame-ancestors': ["'none'"],
          'upgrade-insecure-requests': config.http.trustProxy ? [] : null,
        },
      },
      strictTransportSecurity: config.http.trustProxy,
    }),
  );
  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const id = randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Answered probes (every few seconds from a load balancer and Prometheus) log at debug, and in the
      // demo every answered request does: the start-up banner must not scroll away among them.
      customLogLevel: (req, res, err) =>
        err || res.statusCode >= 500
          ? 'error'
          : res.statusCode >= 400
            ? 'warn'
            : config.demo || PROBE_PATHS.has((req as Request).path)
              ? 'debug'
              : 'info',
      serializers: {
        // The client's address as Express reads it: behind TRUST_PROXY, from X-Forwarded-For, not the proxy's.
        req: (req) => ({ id: req.id, method: req.method, url: redactUrl(req.url), remoteAddress: (req.raw as Request).ip ?? req.remoteAddress }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use('/assets', express.static(path.join(ROOT, 'public'), { maxAge: config.isProduction ? '1h' : 0 }));
  // Pages and API answers hold user lists, tokens and CSRF tokens: no cache or proxy may keep them.
  app.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  app.get('/healthz', async (_req, res) => {
    try {
      await deps.db.raw('SELECT 1');
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  });
  // For the load balancer: 503 while the instance cannot serve (schema, queue, database) or is stopping.
  app.get('/readyz', async (_req, res) => {
    const report = await deps.readiness.check();
    res.status(report.status === 'ready' ? 200 : 503).json(report);
  });

  const { services } = deps;
  // Only with a token: Prometheus sends it as a bearer token. Without one, metrics are on METRICS_PORT or nowhere.
  if (config.metrics.token) app.get('/metrics', metricsHandler(deps.metrics, logger, config.metrics.token));

  app.use(
    '/api',
    createApiRoutes({
      auth: services.auth,
      tokens: services.apiTokens,
      usersApi: services.usersApi,
      loginRateLimit: config.loginRateLimit,
      publicUrl: config.api.publicUrl,
    }),
  );

  const csrf = createCsrf({
    secret: config.session.secret,
    sessionCookieName: config.session.cookieName,
    secureCookies: config.http.trustProxy,
  });
  // Before the body parser, CSRF and NUL checks: their error pages get the layout (and <html lang>) too.
  app.use(expressLayouts);
  app.use(express.urlencoded({ extended: false, limit: '100kb', parameterLimit: 100 }));
  app.use(rejectNulCharacters);
  app.use(
    session({
      name: config.session.cookieName,
      store: deps.sessionStore,
      secret: config.session.secret,
      resave: false,
      saveUninitialized: false,
      rolling: true,
      proxy: config.http.trustProxy,
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: config.http.trustProxy ? 'auto' : false,
        maxAge: config.session.idleMinutes * 60_000,
      },
    }),
  );
  app.use(saveSessionBeforeRedirect);
  app.use(csrf.protect);
  app.use(csrf.expose);
  app.use(exposeFlash);
  app.use(loadCurrentUser(deps.services.auth, config.session));
  app.use(handleLanguage(i18n));
  app.use((req, res, next) => {
    const language = isLanguage(req.language) ? req.language : config.i18n.defaultLanguage;
    res.locals.lang = language;
    res.locals.fmt = createFormatter(language, config.i18n.displayTimeZone);
    res.locals.currentPath = req.path;
    res.locals.currentUrl = req.originalUrl;
    res.locals.appLocation = deps.ownLocation;
    next();
  });
  app.use(
    createAuthRoutes({
      auth: services.auth,
      sessionCookieName: config.session.cookieName,
      loginRateLimit: config.loginRateLimit,
      csrf,
      languages: deps.repositories.users,
    }),
  );
  app.use(createLanguageRoutes({ store: deps.repositories.users, csrf }));
  const admin = Router();
  admin.use(requireAdmin);
  admin.use(createUsersRoutes({ userManagement: services.userManagement, locations: services.locations }));
  admin.use(
    createSyncRoutes({
      userSync: services.userSync,
      syncJobs: services.syncJobs,
      syncRevert: services.syncRevert,
      locations: services.locations,
      syncExport: services.syncExport,
    }),
  );
  admin.use(
    createLocationsRoutes({
      locations: services.locations,
      externalApi: services.externalApi,
      auth: services.auth,
      syncSummaries: services.userSync,
      loginRateLimit: config.loginRateLimit,
    }),
  );
  app.use('/admin', admin);

  app.use(notFound);
  app.use(errorHandler(logger, i18n, config.i18n.displayTimeZone));
  return app;
}
