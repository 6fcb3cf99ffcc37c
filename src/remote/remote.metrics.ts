import { Counter, type Registry } from 'prom-client';
import { REMOTE_API_ERROR_KINDS } from './remote-api-errors';

export interface RemoteMetrics {
  /** Counts one fetch that failed for good. */
  onFailure(location: string, cause: string): void;
  /** Puts every location's series at 0 (done again at each scrape, for locations added since). */
  initialise(): Promise<void>;
}

/**
 * Counts remote fetches that failed for good (after retries), by location and cause (the RemoteApiError
 * kind). Every location has a series for every cause from the start, at 0: a series that first appears at
 * 1 has no earlier sample, so `increase()` over it is 0 and an alert on the first failure would never fire.
 */
export function registerRemoteMetrics(registry: Registry, locationCodes: () => Promise<string[]>): RemoteMetrics {
  const initialise = async () => {
    for (const code of await locationCodes()) {
      for (const cause of REMOTE_API_ERROR_KINDS) failures.inc({ location: code.toUpperCase(), cause }, 0);
    }
  };
  const failures = new Counter({
    name: 'sinkron_remote_request_failures_total',
    help: 'Remote users fetches (sync previews, connection tests) that failed after their retries, by location and cause: auth, timeout, unreachable, protocol, too_large, http, refused_url.',
    labelNames: ['location', 'cause'],
    registers: [registry],
    collect: initialise,
  });
  return { onFailure: (location, cause) => failures.inc({ location, cause }), initialise };
}
