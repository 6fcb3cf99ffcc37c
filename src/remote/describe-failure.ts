import { RemoteApiError, type RemoteApiErrorKind } from './remote-api-errors';
import type { RemoteFailure } from './remote-failures';

/** Where in a fetch something failed, for messages: "the login" or "page 3". */
export interface RequestTarget {
  locationCode: string;
  page?: number;
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNABORTED_TIMEOUT']);
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);

/** The Node error code of a transport failure, looking through axios' wrapper and Happy Eyeballs' AggregateError. */
export function transportCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const candidate = current as { code?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof candidate.code === 'string' && candidate.code !== 'ERR_BAD_RESPONSE' && !candidate.code.startsWith('ERR_BAD_')) {
      return candidate.code;
    }
    current = candidate.cause ?? candidate.errors?.[0];
  }
  return undefined;
}

export type TransportFailure = { retryable: true; kind: 'timeout' | 'reset'; code: string } | { retryable: false; error: RemoteApiError };

const fail = (kind: RemoteApiErrorKind, failure: RemoteFailure, detail?: string): TransportFailure => ({
  retryable: false,
  error: new RemoteApiError(failure, { kind, detail }),
});

/**
 * The one thing a page says when no HTTP answer came: refused, reset, unknown name, timed out and TLS
 * failures read alike, so Test connection cannot map internal ports; the log has the code.
 */
export const couldNotConnect = (target: RequestTarget, retries?: number): RemoteFailure => ({
  code: 'could_not_connect',
  params: { location: target.locationCode, page: target.page, retries },
});

const at = (target: RequestTarget, more: Record<string, string | number> = {}) => ({ location: target.locationCode, page: target.page, ...more });

/** An HTTP status as a page may show it: its class only (the exact status goes to the log). */
export const statusClass = (status: number) => `HTTP ${Math.floor(status / 100)}xx`;

/** Turns a request failure without an HTTP answer into a retry decision or an admin-readable error. */
export function classifyTransportFailure(error: unknown, target: RequestTarget, maxBytes: number): TransportFailure {
  const code = transportCode(error) ?? 'unknown';
  const message = error instanceof Error ? error.message : '';

  if (/maxContentLength|maxBodyLength/.test(message)) {
    const megabytes = Math.round((maxBytes / (1024 * 1024)) * 10) / 10;
    return fail('too_large', { code: 'too_large', params: at(target, { megabytes }) });
  }
  if (code === 'ERR_URL_REFUSED') {
    return fail('refused_url', { code: 'url_refused', params: at(target, { policy: message }) });
  }
  if (code === 'ERR_FR_TOO_MANY_REDIRECTS' || code === 'ERR_FR_REDIRECTION_FAILURE') {
    return fail('refused_url', { code: 'redirected', params: at(target) });
  }
  if (TIMEOUT_CODES.has(code) || /timeout/i.test(message)) return { retryable: true, kind: 'timeout', code };
  if (RESET_CODES.has(code) || /socket hang up/i.test(message)) return { retryable: true, kind: 'reset', code };
  if (UNREACHABLE_CODES.has(code)) return fail('unreachable', couldNotConnect(target), code);
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return fail('unreachable', couldNotConnect(target), `TLS certificate refused: ${code}`);
  }
  return fail('unreachable', couldNotConnect(target), code);
}
