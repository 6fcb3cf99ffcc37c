import express, { type RequestHandler } from 'express';
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from 'pino';

/** One registry per app instance (tests build several in one process), with Node's process metrics. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sinkron_' });
  return registry;
}

const sameSecret = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * GET /metrics in Prometheus' text format. With a token, only a scraper that sends it as a bearer token
 * gets an answer; anyone else gets 401 and nothing about the instance.
 */
export function metricsHandler(registry: Registry, logger: Logger, token?: string): RequestHandler {
  return async (req, res) => {
    if (token !== undefined) {
      const header = req.get('authorization') ?? '';
      const given = /^Bearer (.+)$/i.exec(header)?.[1] ?? '';
      if (!sameSecret(given, token)) {
        res.set('WWW-Authenticate', 'Bearer realm="metrics"').status(401).type('text/plain').send('Unauthorized\n');
        return;
      }
    }
    try {
      const body = await registry.metrics();
      res.set('Cache-Control', 'no-store').type(registry.contentType).send(body);
    } catch (error) {
      logger.error({ err: error }, 'metrics could not be collected');
      res.status(500).type('text/plain').send('metrics could not be collected\n');
    }
  };
}

/** /metrics alone on a port of 127.0.0.1 (METRICS_PORT): reachable only from the host, so no token. */
export async function startMetricsServer(registry: Registry, logger: Logger, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsHandler(registry, logger));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  logger.info({ url }, 'metrics listening');
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
