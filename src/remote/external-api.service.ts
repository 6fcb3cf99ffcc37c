import type { Logger } from 'pino';
import type { Config, RemoteCredentials } from '../platform/config';
import type { Location } from '../locations/locations.queries';
import { readPage, isLastPage, type PageInfo } from './page-shapes';
import { PageReadAhead } from './page-read-ahead';
import { RemoteSession } from './remote-session';
import { RemoteApiError } from './remote-api-errors';
import { normaliseEmail } from '../platform/email';
import { parseRemoteUsers, type RemoteSource, type RemoteUserPage, type RemoteUserSource } from './remote-users';
import { UrlRefusedError, type UrlPolicy } from '../locations/url-policy';

export interface ConnectionTestResult {
  /** The remote's user count when its pages say so (or when one page holds them all). */
  total: number | null;
  firstPageCount: number;
}

interface FetchedPage {
  page: number;
  /** Where the page was read from: what a relative next link is resolved against. */
  url: string;
  /** The size of its answer, as the read-ahead counts it. */
  bytes: number;
  info: PageInfo;
  users: RemoteUserPage;
}

const tooManyRows = (code: string, maxRows: number) =>
  new RemoteApiError({ code: 'too_many_rows', params: { location: code, max: maxRows } }, { kind: 'too_large' });

/** The rows of a whole list, refused past REMOTE_MAX_ROWS (or as soon as the first page's total says so). */
class RowCount {
  private rows = 0;

  constructor(
    private readonly code: string,
    private readonly maxRows: number,
  ) {}

  refuseTotal(total: number): void {
    if (total > this.maxRows) throw tooManyRows(this.code, this.maxRows);
  }

  add(page: FetchedPage): void {
    this.rows += page.info.rows.length;
    if (this.rows > this.maxRows) throw tooManyRows(this.code, this.maxRows);
  }
}

/** What identifies a row, to notice a server that serves the same page again and again. */
function rowKey(row: unknown): string {
  if (row !== null && typeof row === 'object') {
    const { id, email } = row as { id?: unknown; email?: unknown };
    if (id !== undefined && id !== null) return `id:${String(id)}`;
    if (typeof email === 'string') return `email:${normaliseEmail(email)}`;
  }
  return JSON.stringify(row);
}

/** Row by row, stopping at the first difference: a healthy server's pages differ at their first row. */
function sameRows(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((row, i) => rowKey(row) === rowKey(b[i]));
}

/**
 * Reads a location's users over the remote API contract: login, every page shape, retries, and the
 * refusals that keep a sync from planning on a partial or endless list.
 */
export class ExternalApiService implements RemoteUserSource {
  constructor(
    private readonly deps: {
      remote: Config['remote'];
      urlPolicy: UrlPolicy;
      logger: Logger;
      /** Told of every fetch that failed for good (the metrics count them by location and cause). */
      onFailure?: (location: string, cause: string) => void;
    },
  ) {}

  async *fetchUsers(location: Location, options: { signal?: AbortSignal } = {}): AsyncGenerator<RemoteUserPage> {
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const session = this.openSession(location, signal);
    const started = Date.now();
    let pages = 0;
    let users = 0;
    try {
      for await (const page of this.pages(session, location)) {
        pages += 1;
        users += page.users.length;
        yield page;
      }
      this.deps.logger.info({ location: location.code, pages, users, ms: Date.now() - started }, 'remote users fetched');
    } catch (error) {
      if (error instanceof RemoteApiError) this.reportFailure(error, 'remote users fetch failed');
      throw error;
    } finally {
      stop.abort();
      session.close();
    }
  }

  /** Logs in and reads the first page, as the Locations page's "Test connection" does. */
  async testConnection(location: Location): Promise<ConnectionTestResult> {
    const session = this.openSession(location);
    try {
      const { info } = await this.fetchPage(session, location, this.pageUrl(session, 1), 1);
      const complete = isLastPage(info);
      return { total: info.total ?? (complete ? info.rows.length : null), firstPageCount: info.rows.length };
    } catch (error) {
      if (error instanceof RemoteApiError) this.reportFailure(error, 'remote connection test failed');
      throw error;
    } finally {
      session.close();
    }
  }

  private reportFailure(error: RemoteApiError, message: string): void {
    this.deps.logger.warn(error.toLog(), message);
    this.deps.onFailure?.(error.locationCode, error.kind);
  }

  private openSession(location: Location, signal?: AbortSignal): RemoteSession {
    const code = location.code.toUpperCase();
    if (!location.onlineUrl) {
      throw new RemoteApiError({ code: 'no_online_url', params: { location: code } }, { kind: 'refused_url' });
    }
    try {
      this.deps.urlPolicy.checkUrlSync(location.onlineUrl);
    } catch (error) {
      if (!(error instanceof UrlRefusedError)) throw error;
      throw new RemoteApiError({ code: 'url_refused', params: { location: code, policy: error.message } }, { kind: 'refused_url' });
    }
    // Before the credential is chosen: which one goes is exactly what the confirmation is about.
    if (!location.onlineUrlConfirmed) {
      throw new RemoteApiError({ code: 'url_unconfirmed', params: { location: code } }, { kind: 'refused_url' });
    }
    if (!this.deps.urlPolicy.allowsCredentials(location.onlineUrl)) {
      throw new RemoteApiError({ code: 'plain_http', params: { location: code } }, { kind: 'refused_url' });
    }
    const { credentials, variables } = this.credentialsFor(code);
    return new RemoteSession({
      locationCode: code,
      onlineUrl: location.onlineUrl,
      credentials,
      credentialHint: variables,
      remote: this.deps.remote,
      urlPolicy: this.deps.urlPolicy,
      logger: this.deps.logger,
      signal,
    });
  }

  /** The URL, API login and credential variables a fetch of the location would use now (never the password). */
  describeSource(location: Location): RemoteSource {
    const { credentials, variables } = this.credentialsFor(location.code.toUpperCase());
    return { url: location.onlineUrl ?? '', login: credentials.email, credential: variables };
  }

  /** The location's own credentials when set, else the default pair; with the variables they come from. */
  private credentialsFor(code: string): { credentials: RemoteCredentials; variables: string } {
    const { credentials } = this.deps.remote;
    const own = credentials[code];
    const chosen = own ?? credentials['*'];
    if (!chosen) {
      throw new RemoteApiError({ code: 'no_credentials', params: { location: code } }, { kind: 'auth' });
    }
    return {
      credentials: chosen,
      variables: chosen.source ?? (own ? `EXTERNAL_API_${code}_EMAIL / EXTERNAL_API_${code}_PASSWORD` : 'EXTERNAL_API_EMAIL / EXTERNAL_API_PASSWORD'),
    };
  }

  private async *pages(session: RemoteSession, location: Location): AsyncGenerator<RemoteUserPage> {
    const code = location.code.toUpperCase();
    const rows = new RowCount(code, this.deps.remote.maxRows);
    const first = await this.fetchPage(session, location, this.pageUrl(session, 1), 1);
    if (first.info.total !== null) rows.refuseTotal(first.info.total);
    rows.add(first);
    const of = { pages: first.info.lastPage, users: first.info.total };
    if (isLastPage(first.info)) {
      yield { ...first.users, of: { pages: 1, users: first.info.total ?? first.info.rows.length } };
      return;
    }

    const { lastPage } = first.info;
    if (lastPage !== null && first.info.nextCursor === undefined) {
      if (lastPage > this.deps.remote.maxPages) throw this.pageCapError(code, lastPage);
      // Started before the first page is handed over: the fetch goes on while the consumer reads it.
      const ahead = new PageReadAhead(
        (page) => this.fetchPage(session, location, this.pageUrl(session, page), page),
        { first: 2, last: lastPage },
        {
          concurrency: this.deps.remote.concurrency,
          budgetBytes: this.deps.remote.readAheadBytes,
          maxBytes: this.deps.remote.maxBytes,
        },
      );
      yield { ...first.users, of };
      let previous = first;
      for await (const current of ahead.pages()) {
        this.refuseRepeat(code, previous, current, current.page);
        rows.add(current);
        yield { ...current.users, of };
        if (
          current.info.rows.length === 0 ||
          (current.info.currentPage !== null && current.info.lastPage !== null && current.info.currentPage >= current.info.lastPage)
        ) {
          return;
        }
        previous = current;
      }
      return;
    }

    // Each next page is known from the one before: one is fetched while the consumer reads the current one.
    let previous = first;
    let next = this.followingPage(session, location, first, 2);
    yield { ...first.users, of };
    for (let page = 2; ; page += 1) {
      const current = await next;
      this.refuseRepeat(code, previous, current, page);
      rows.add(current);
      const last = isLastPage(current.info);
      if (!last) next = this.followingPage(session, location, current, page + 1);
      yield { ...current.users, of };
      if (last) return;
      previous = current;
    }
  }

  /** The page after `previous`, by its next link or cursor; refused past REMOTE_MAX_PAGES. */
  private followingPage(session: RemoteSession, location: Location, previous: FetchedPage, page: number): Promise<FetchedPage> {
    if (page > this.deps.remote.maxPages) return Promise.reject(this.pageCapError(location.code.toUpperCase(), page));
    const promise = this.fetchPage(session, location, this.nextUrl(session, previous, page), page);
    // Fetched ahead, it may fail before its turn; its error is thrown when the page is reached.
    promise.catch(() => undefined);
    return promise;
  }

  /**
   * One page, refused when it holds more rows than were asked for: a page is parsed whole, so a server
   * that ignores per_page could otherwise make one page hold a whole list.
   */
  private async fetchPage(session: RemoteSession, location: Location, url: string, page: number): Promise<FetchedPage> {
    const code = location.code.toUpperCase();
    const { body, bytes } = await session.getPage(url, page);
    const info = readPage(body);
    if (!info) {
      throw new RemoteApiError({ code: 'not_a_users_page', params: { location: code, page } }, { kind: 'protocol' });
    }
    const { perPage, maxRows } = this.deps.remote;
    if (info.paginated && info.rows.length > perPage) {
      throw new RemoteApiError({ code: 'too_many_on_page', params: { location: code, page, rows: info.rows.length, perPage } }, { kind: 'protocol' });
    }
    if (!info.paginated && info.rows.length > maxRows) throw tooManyRows(code, maxRows);
    return { page, url, bytes, info, users: parseRemoteUsers(info.rows, page) };
  }

  private pageUrl(session: RemoteSession, page: number): string {
    const url = new URL('api/users', session.baseUrl());
    url.searchParams.set('page', String(page));
    url.searchParams.set('per_page', String(this.deps.remote.perPage));
    return url.toString();
  }

  /**
   * The server's next link when it stays on the online URL's origin, else our own page (or cursor) URL.
   * A relative link is read against the page it came in, as a browser would (a Sinkron remote without
   * PUBLIC_URL sends paths). Laravel's links often drop per_page; without it the next page would be cut
   * with another size.
   */
  private nextUrl(session: RemoteSession, previous: FetchedPage, page: number): string {
    const base = new URL(session.baseUrl());
    const { info } = previous;
    if (info.nextUrl) {
      try {
        const next = new URL(info.nextUrl, previous.url);
        if (next.origin === base.origin) {
          if (!next.searchParams.has('per_page')) next.searchParams.set('per_page', String(this.deps.remote.perPage));
          return next.toString();
        }
      } catch {
        // An unparsable link is ignored like a foreign one.
      }
    }
    if (typeof info.nextCursor === 'string') {
      const url = new URL('api/users', base);
      url.searchParams.set('cursor', info.nextCursor);
      url.searchParams.set('per_page', String(this.deps.remote.perPage));
      return url.toString();
    }
    return this.pageUrl(session, page);
  }

  private refuseRepeat(code: string, previous: FetchedPage, current: FetchedPage, page: number): void {
    if (current.info.rows.length === 0) return;
    if (sameRows(current.info.rows, previous.info.rows)) {
      throw new RemoteApiError({ code: 'looping', params: { location: code, page, previous: page - 1 } }, { kind: 'protocol' });
    }
  }

  private pageCapError(code: string, page: number): RemoteApiError {
    const max = this.deps.remote.maxPages;
    return new RemoteApiError({ code: 'too_many_pages', params: { location: code, page: Math.min(page, max + 1), max } }, { kind: 'protocol' });
  }
}
