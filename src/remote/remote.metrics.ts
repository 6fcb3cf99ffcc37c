import { Counter, type Registry } from 'prom-client';

/** Counts remote fetches that failed for good (after retries), by location and cause (the RemoteApiError kind). */
export function registerRemoteMetrics(registry: Registry): (location: string, cause: string) => void {
  const failures = new Counter({
    name: 'sinkron_remote_request_failures_total',
    help: 'Remote users fetches (sync previews, connection tests) that failed after their retries, by location and cause: auth, timeout, unreachable, protocol, too_large, http, refused_url.',
    labelNames: ['location', 'cause'],
    registers: [registry],
  });
  return (location, cause) => failures.inc({ location, cause });
}
