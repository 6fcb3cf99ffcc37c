import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import type { Config, RemoteCredentials } from '../platform/config';
import { RemoteApiError } from './remote-api-errors';
import { UrlRefusedError, type UrlPolicy } from '../locations/url-policy';
import { classifyTransportFailure, couldNotConnect, statusClass, type RequestTarget } from './describe-failure';

const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
const RETRY_AFTER_CAP_MS = 30_000;
const DEFAULT_TOKEN_SECONDS = 3600;
// Log in again a little before the token runs out rather than earn a 401 mid-page.
const TOKEN_MARGIN_MS = 30_000;

export interface RemoteSessionOptions {
  locationCode: string;
  onlineUrl: string;
  credentials: RemoteCredentials;
  /** The variable names an admin sets for these credentials, for the auth error. */
  credentialHint: string;
  remote: Config['remote'];
  urlPolicy: UrlPolicy;
  logger: Logger;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

function retryAfterMs(response: AxiosResponse): number | undefined {
  const header = response.headers['retry-after'];
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

const seconds = (ms: number) => Math.round((ms / 1000) * 10) / 10;
const formatSeconds = (ms: number) => `${seconds(ms)} s`;

/**
 * One location's connection for one fetch: its own keep-alive agents (whose DNS lookup applies the SSRF
 * policy), one login whose token is kept until it runs out, retries with backoff, and an overall deadline.
 */
export class RemoteSession {
  private readonly http: AxiosInstance;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly deadline: AbortSignal;
  private readonly signal: AbortSignal;
  private token: string | undefined;
  private tokenExpiresAt = 0;
  private pendingLogin: Promise<string> | undefined;

  constructor(private readonly options: RemoteSessionOptions) {
    const { remote, urlPolicy } = options;
    const agentOptions = { keepAlive: true, maxSockets: remote.concurrency, lookup: urlPolicy.lookup };
    this.agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
    this.deadline = AbortSignal.timeout(remote.deadlineMs);
    this.signal = options.signal ? AbortSignal.any([options.signal, this.deadline]) : this.deadline;
    this.http = axios.create({
      httpAgent: this.agents.http,
      httpsAgent: this.agents.https,
      // A proxy would connect on our behalf and bypass the address check.
      proxy: false,
      maxRedirects: 0,
      maxContentLength: remote.maxBytes,
      maxBodyLength: remote.maxBytes,
      responseType: 'text',
      transformResponse: [],
      validateStatus: () => true,
      headers: { Accept: 'application/json' },
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** The users page at `url` as parsed JSON with the size of its answer, logging in (again) as needed. */
  async getPage(url: string, page: number): Promise<{ body: unknown; bytes: number }> {
    const target: RequestTarget = { locationCode: this.options.locationCode, page };
    let usedToken = await this.currentToken();
    let reauthenticated = false;
    for (;;) {
      const response = await this.send(target, { method: 'GET', url, headers: { Authorization: `Bearer ${usedToken}` } });
      if (response.status === 401) {
        if (reauthenticated) throw this.authError(target, true);
        reauthenticated = true;
        this.options.logger.info({ location: target.locationCode, page }, 'remote token refused: logging in again');
        usedToken = await this.renewToken(usedToken);
        continue;
      }
      return { body: this.parseJson(response, target), bytes: Buffer.byteLength(response.data ?? '') };
    }
  }

  private async currentToken(): Promise<string> {
    if (this.token && Date.now() < this.tokenExpiresAt - TOKEN_MARGIN_MS) return this.token;
    return this.renewToken(this.token);
  }

  /** One login at a time; a caller holding a token that another page already replaced just takes the new one. */
  private renewToken(stale: string | undefined): Promise<string> {
    if (this.token !== stale && this.token) return Promise.resolve(this.token);
    this.pendingLogin ??= this.login().finally(() => {
      this.pendingLogin = undefined;
    });
    return this.pendingLogin;
  }

  private async login(): Promise<string> {
    const target: RequestTarget = { locationCode: this.options.locationCode };
    const response = await this.send(target, {
      method: 'POST',
      url: new URL('api/auth/login', this.baseUrl()).toString(),
      headers: { 'Content-Type': 'application/json' },
      data: JSON.stringify({ email: this.options.credentials.email, password: this.options.credentials.password }),
    });
    if (response.status === 401 || response.status === 422) throw this.authError(target);
    const body = this.parseJson(response, target) as { access_token?: unknown; token?: unknown; expires_in?: unknown };
    const token = typeof body?.access_token === 'string' ? body.access_token : typeof body?.token === 'string' ? body.token : undefined;
    if (!token) {
      throw new RemoteApiError({ code: 'login_no_token', params: { location: target.locationCode } }, { kind: 'protocol' });
    }
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    this.token = token;
    this.tokenExpiresAt = Date.now() + seconds * 1000;
    this.options.logger.debug({ location: target.locationCode, expiresInSeconds: seconds }, 'logged in to remote');
    return token;
  }

  /** `online_url` as a base that keeps its path (`https://host/app` → `https://host/app/`). */
  baseUrl(): string {
    const base = new URL(this.options.onlineUrl);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    base.search = '';
    base.hash = '';
    return base.toString();
  }

  /** `newTokenRefused`: a page refused the token a fresh login had just given. */
  private authError(target: RequestTarget, newTokenRefused = false): RemoteApiError {
    return new RemoteApiError(
      {
        code: newTokenRefused ? 'login_token_refused' : 'login_refused',
        params: { location: target.locationCode, page: target.page, variables: this.options.credentialHint },
      },
      { kind: 'auth', remoteStatus: 401 },
    );
  }

  /**
   * One request with retries for busy or flaky servers. Returns any HTTP answer that is not retried;
   * throws a RemoteApiError for everything else.
   */
  private async send(
    target: RequestTarget,
    request: { method: 'GET' | 'POST'; url: string; headers: Record<string, string>; data?: string },
  ): Promise<AxiosResponse<string>> {
    const { remote, logger } = this.options;
    try {
      this.options.urlPolicy.checkUrlSync(request.url);
    } catch (error) {
      if (!(error instanceof UrlRefusedError)) throw error;
      throw new RemoteApiError(
        { code: 'url_refused_at', params: { location: target.locationCode, page: target.page, policy: error.message } },
        { kind: 'refused_url' },
      );
    }
    for (let attempt = 0; ; attempt += 1) {
      this.throwIfStopped(target);
      const timeout = AbortSignal.timeout(remote.timeoutMs);
      let response: AxiosResponse<string> | undefined;
      let retryCause: string;
      try {
        response = await this.http.request<string>({ ...request, signal: AbortSignal.any([this.signal, timeout]) });
      } catch (error) {
        this.throwIfStopped(target);
        const failure = timeout.aborted
          ? ({ retryable: true, kind: 'timeout', code: 'timeout' } as const)
          : classifyTransportFailure(error, target, remote.maxBytes);
        if (!failure.retryable) throw failure.error;
        if (attempt >= remote.retries) {
          throw new RemoteApiError(couldNotConnect(target, remote.retries), {
            kind: failure.kind === 'timeout' ? 'timeout' : 'unreachable',
            detail: failure.kind === 'timeout' ? `no answer within ${formatSeconds(remote.timeoutMs)} (REMOTE_TIMEOUT_MS)` : failure.code,
          });
        }
        retryCause = failure.kind === 'timeout' ? 'timeout' : failure.code;
      }

      if (response) {
        if (response.status >= 300 && response.status < 400) throw this.redirectError(response, target);
        const retryable = RETRYABLE_STATUSES.has(response.status) && (target.page !== undefined || response.status !== 500);
        if (!retryable) {
          const isLoginRefusal = target.page === undefined && response.status === 422;
          if (response.status < 400 || response.status === 401 || isLoginRefusal) return response;
          throw new RemoteApiError(
            { code: 'http_status', params: { location: target.locationCode, page: target.page, statusClass: statusClass(response.status) } },
            { kind: 'http', remoteStatus: response.status, detail: `status ${response.status}` },
          );
        }
        if (attempt >= remote.retries) {
          throw new RemoteApiError(
            {
              code: 'http_status',
              params: { location: target.locationCode, page: target.page, statusClass: statusClass(response.status), retries: remote.retries },
            },
            { kind: 'http', remoteStatus: response.status, detail: `status ${response.status}` },
          );
        }
        retryCause = String(response.status);
      }

      const backoff = remote.retryBaseMs * 2 ** attempt;
      const asked = response ? retryAfterMs(response) : undefined;
      const delayMs = Math.min(asked ?? backoff, RETRY_AFTER_CAP_MS);
      logger.warn(
        { location: target.locationCode, page: target.page, cause: retryCause!, attempt: attempt + 1, delayMs },
        'remote request failed: retrying',
      );
      try {
        await sleep(delayMs, this.signal);
      } catch {
        this.throwIfStopped(target);
      }
    }
  }

  private throwIfStopped(target: RequestTarget): void {
    if (this.deadline.aborted) {
      throw new RemoteApiError(
        { code: 'deadline', params: { location: target.locationCode, page: target.page, seconds: seconds(this.options.remote.deadlineMs) } },
        { kind: 'timeout' },
      );
    }
    if (this.options.signal?.aborted) throw this.options.signal.reason;
  }

  private redirectError(response: AxiosResponse, target: RequestTarget): RemoteApiError {
    const location = typeof response.headers.location === 'string' ? response.headers.location : '';
    let to = 'another address';
    try {
      to = new URL(location, this.options.onlineUrl).origin;
    } catch {
      // An unparsable Location is still a redirect we refuse.
    }
    return new RemoteApiError(
      { code: 'redirect', params: { location: target.locationCode, page: target.page, statusClass: statusClass(response.status) } },
      { kind: 'refused_url', remoteStatus: response.status, detail: `status ${response.status} to ${to}` },
    );
  }

  /** JSON or a protocol error naming what came instead (an HTML login page, a proxy error page). */
  private parseJson(response: AxiosResponse<string>, target: RequestTarget): unknown {
    const contentType = String(response.headers['content-type'] ?? 'no content type')
      .split(';')[0]!
      .trim();
    const notTheApi = (code: 'not_the_api' | 'malformed_json') =>
      new RemoteApiError(
        { code, params: { location: target.locationCode, page: target.page, statusClass: statusClass(response.status) } },
        { kind: 'protocol', remoteStatus: response.status, detail: `${contentType}, status ${response.status}` },
      );
    if (!/^application\/([a-z.+-]+\+)?json$/i.test(contentType)) throw notTheApi('not_the_api');
    try {
      return JSON.parse(typeof response.data === 'string' ? response.data : String(response.data));
    } catch {
      throw notTheApi('malformed_json');
    }
  }
}
