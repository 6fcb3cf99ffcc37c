import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for the Laravel servers in the field (tymon/jwt-auth login, Laravel pagination),
 * with scripted faults. Only what the remote API contract describes, nothing more.
 */

export type PageShape = 'resource' | 'paginate' | 'simple' | 'cursor' | 'cursorResource' | 'array';

export interface LaravelServerOptions {
  /** Raw rows served as-is (tests put bad rows in too). */
  users: Array<Record<string, unknown>>;
  shape?: PageShape;
  credentials?: { email: string; password: string };
  tokenField?: 'access_token' | 'token';
  omitExpiresIn?: boolean;
  /** Default 500; asks above 1000 are clamped, as Laravel apps commonly do. */
  defaultPerPage?: number;
  /** The origin written into next/prev links instead of the server's own (to test foreign links). */
  linkOrigin?: string;
  /**
   * Next/prev links written relative: `root` as a path (`/api/users?page=2`, as a Sinkron remote without
   * PUBLIC_URL writes them), `page` relative to the page asked (`users?page=2`).
   */
  relativeLinks?: 'root' | 'page';
  /** Each users page is answered this long after it was asked for (a slow remote). */
  pageDelayMs?: number;
}

export type Fault =
  | { kind: 'status'; status: number; page?: number; times?: number; retryAfterSeconds?: number }
  | { kind: 'loginStatus'; status: number; times?: number }
  | { kind: 'hang'; page?: number; times?: number }
  /** The connection is dropped without an answer (ECONNRESET / socket hang up at the client). */
  | { kind: 'reset'; page?: number; times?: number }
  | { kind: 'html'; page?: number; times?: number }
  | { kind: 'malformedJson'; page?: number; times?: number }
  | { kind: 'wrongShape'; page?: number; times?: number }
  | { kind: 'oversize'; page?: number; times?: number; bytes: number }
  | { kind: 'redirect'; page?: number; times?: number; location: string }
  /** On the matching users request, every token issued so far becomes invalid (that request gets 401). */
  | { kind: 'expireTokens'; page?: number; times?: number }
  /** From now on every page repeats page 1's users while claiming a next page. */
  | { kind: 'loop' };

export interface RecordedRequest {
  method: string;
  path: string;
  page?: number;
  authorization?: string;
}

export interface LaravelServer {
  url: string;
  setUsers(users: Array<Record<string, unknown>>): void;
  /** Scripted faults, consumed in order of matching requests. */
  fault(f: Fault): void;
  requests: RecordedRequest[];
  /** The users pages answered, in order (a page whose client hung up before its answer is not). */
  answeredPages: number[];
  /** Tokens issued by successful logins, in order (to assert they never reach the logs). */
  issuedTokens: string[];
  close(): Promise<void>;
}

export const DEFAULT_REMOTE_CREDENTIALS = { email: 'api@remote.test', password: 'remote-secret-pw' };

const MAX_PER_PAGE = 1000;

interface PendingFault {
  fault: Fault;
  remaining: number;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const encodeCursor = (offset: number) => Buffer.from(JSON.stringify({ offset })).toString('base64url');
function decodeCursor(cursor: string): number {
  try {
    const offset = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { offset?: unknown }).offset;
    return typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 ? offset : 0;
  } catch {
    return 0;
  }
}

export async function startLaravelServer(options: LaravelServerOptions): Promise<LaravelServer> {
  let users = options.users;
  const shape = options.shape ?? 'resource';
  const credentials = options.credentials ?? DEFAULT_REMOTE_CREDENTIALS;
  const tokenField = options.tokenField ?? 'access_token';
  const defaultPerPage = Math.min(options.defaultPerPage ?? 500, MAX_PER_PAGE);
  const faults: PendingFault[] = [];
  const validTokens = new Set<string>();
  const issuedTokens: string[] = [];
  const requests: RecordedRequest[] = [];
  const answeredPages: number[] = [];
  let looping = false;
  let origin = '';

  /** The first pending fault that applies to this request, consumed once. */
  function takeFault(matches: (f: Fault) => boolean): Fault | undefined {
    const index = faults.findIndex((p) => matches(p.fault));
    if (index === -1) return undefined;
    const pending = faults[index]!;
    pending.remaining -= 1;
    if (pending.remaining <= 0) faults.splice(index, 1);
    return pending.fault;
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fault = takeFault((f) => f.kind === 'loginStatus');
    const raw = await readBody(req);
    if (fault?.kind === 'loginStatus') {
      const body = fault.status === 422 ? { message: 'The email field is required.', errors: {} } : { error: 'Unauthorized' };
      sendJson(res, fault.status, body);
      return;
    }
    let body: { email?: unknown; password?: unknown } = {};
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      sendJson(res, 422, { message: 'The given data was invalid.' });
      return;
    }
    if (body.email !== credentials.email || body.password !== credentials.password) {
      sendJson(res, 401, { error: 'Unauthorized' });
      return;
    }
    const token = `${randomBytes(12).toString('hex')}.${randomBytes(24).toString('base64url')}`;
    validTokens.add(token);
    issuedTokens.push(token);
    sendJson(res, 200, {
      [tokenField]: token,
      token_type: 'bearer',
      ...(options.omitExpiresIn ? {} : { expires_in: 3600 }),
    });
  }

  function pageUrl(path: string, params: Record<string, string | number>): string {
    const url = new URL(path, options.linkOrigin ?? origin);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value));
    if (options.relativeLinks === 'root') return `${url.pathname}${url.search}`;
    if (options.relativeLinks === 'page') return `${url.pathname.split('/').pop()}${url.search}`;
    return url.toString();
  }

  function listUsers(url: URL, res: ServerResponse): void {
    const perPage = Math.max(1, Math.min(Number(url.searchParams.get('per_page')) || defaultPerPage, MAX_PER_PAGE));
    const cursor = url.searchParams.get('cursor');
    const isCursorShape = shape === 'cursor' || shape === 'cursorResource';
    let page = Math.max(1, Math.floor(Number(url.searchParams.get('page')) || 1));
    let offset = (page - 1) * perPage;
    if (isCursorShape && cursor) {
      offset = decodeCursor(cursor);
      page = Math.floor(offset / perPage) + 1;
    }
    if (looping) offset = 0;

    const total = users.length;
    const data = shape === 'array' ? users : users.slice(offset, offset + perPage);
    const lastPage = Math.max(1, Math.ceil(total / perPage));
    const hasMore = looping || offset + perPage < total;
    const path = '/api/users';
    const base = new URL(path, options.linkOrigin ?? origin).toString();
    const next = hasMore ? pageUrl(path, { page: page + 1, per_page: perPage }) : null;
    const prev = page > 1 ? pageUrl(path, { page: page - 1, per_page: perPage }) : null;
    const from = data.length > 0 ? offset + 1 : null;
    const to = data.length > 0 ? offset + data.length : null;
    const reportedLastPage = looping ? lastPage + page : lastPage;

    switch (shape) {
      case 'array':
        sendJson(res, 200, data);
        return;
      case 'resource':
        sendJson(res, 200, {
          data,
          links: {
            first: pageUrl(path, { page: 1, per_page: perPage }),
            last: pageUrl(path, { page: lastPage, per_page: perPage }),
            prev,
            next,
          },
          meta: { current_page: page, from, last_page: reportedLastPage, per_page: perPage, to, total, path: base },
        });
        return;
      case 'paginate':
        sendJson(res, 200, {
          current_page: page,
          data,
          first_page_url: pageUrl(path, { page: 1 }),
          from,
          last_page: reportedLastPage,
          last_page_url: pageUrl(path, { page: lastPage }),
          next_page_url: next,
          path: base,
          per_page: perPage,
          prev_page_url: prev,
          to,
          total,
        });
        return;
      case 'simple':
        sendJson(res, 200, {
          current_page: page,
          data,
          first_page_url: pageUrl(path, { page: 1 }),
          from,
          next_page_url: next,
          path: base,
          per_page: perPage,
          prev_page_url: prev,
          to,
        });
        return;
      case 'cursor':
      case 'cursorResource': {
        const nextCursor = hasMore ? encodeCursor(looping ? 0 : offset + perPage) : null;
        const prevCursor = offset > 0 ? encodeCursor(Math.max(0, offset - perPage)) : null;
        const nextUrl = nextCursor ? pageUrl(path, { cursor: nextCursor, per_page: perPage }) : null;
        const prevUrl = prevCursor ? pageUrl(path, { cursor: prevCursor, per_page: perPage }) : null;
        if (shape === 'cursor') {
          sendJson(res, 200, {
            data,
            path: base,
            per_page: perPage,
            next_cursor: nextCursor,
            next_page_url: nextUrl,
            prev_cursor: prevCursor,
            prev_page_url: prevUrl,
          });
        } else {
          sendJson(res, 200, {
            data,
            links: { first: null, last: null, prev: prevUrl, next: nextUrl },
            meta: { path: base, per_page: perPage, next_cursor: nextCursor, prev_cursor: prevCursor },
          });
        }
        return;
      }
    }
  }

  /** Plays a page fault; returns true when the request was answered (or deliberately left hanging). */
  function playPageFault(fault: Fault, res: ServerResponse): boolean {
    switch (fault.kind) {
      case 'status': {
        const headers: Record<string, string> = {};
        if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds);
        const message = fault.status === 401 ? 'Unauthenticated.' : fault.status === 429 ? 'Too Many Attempts.' : 'Server Error';
        sendJson(res, fault.status, { message }, headers);
        return true;
      }
      case 'hang':
        return true;
      case 'reset':
        res.socket?.destroy();
        return true;
      case 'html': {
        const html =
          '<!DOCTYPE html><html><head><title>Login</title></head><body><form method="post" action="/login"><input name="email"></form></body></html>';
        res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': Buffer.byteLength(html) });
        res.end(html);
        return true;
      }
      case 'malformedJson': {
        const text = '{"data": [{"id": 1, "email": "broken@remote.test", ';
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
        return true;
      }
      case 'wrongShape':
        sendJson(res, 200, { status: 'ok', items: users.slice(0, 2), count: users.length });
        return true;
      case 'oversize': {
        // Chunked, without Content-Length, so the client has to count while it reads.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        res.write('{"data": [');
        const pump = () => {
          while (sent <= fault.bytes) {
            sent += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end(']}');
        };
        res.on('error', () => undefined);
        pump();
        return true;
      }
      case 'redirect':
        res.writeHead(302, { Location: fault.location, 'Content-Length': 0 });
        res.end();
        return true;
      default:
        return false;
    }
  }

  const pageFaultKinds = new Set(['status', 'hang', 'reset', 'html', 'malformedJson', 'wrongShape', 'oversize', 'redirect', 'expireTokens']);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const authorization = req.headers.authorization;
    const isUsers = req.method === 'GET' && url.pathname === '/api/users';
    let page: number | undefined;
    if (isUsers) {
      const perPage = Math.max(1, Math.min(Number(url.searchParams.get('per_page')) || defaultPerPage, MAX_PER_PAGE));
      const cursor = url.searchParams.get('cursor');
      page = cursor ? Math.floor(decodeCursor(cursor) / perPage) + 1 : Math.max(1, Math.floor(Number(url.searchParams.get('page')) || 1));
    }
    requests.push({ method: req.method ?? 'GET', path: url.pathname, page, ...(authorization ? { authorization } : {}) });

    if (req.method === 'POST' && url.pathname === '/api/auth/login') return login(req, res);
    if (!isUsers) {
      sendJson(res, 404, { message: 'Not Found' });
      return;
    }

    const fault = takeFault((f) => pageFaultKinds.has(f.kind) && ('page' in f && f.page !== undefined ? f.page === page : true));
    if (fault?.kind === 'expireTokens') validTokens.clear();
    else if (fault && playPageFault(fault, res)) return;

    const token = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
    if (!token || !validTokens.has(token)) {
      sendJson(res, 401, { message: 'Unauthenticated.' });
      return;
    }
    if (options.pageDelayMs) await new Promise((resolve) => setTimeout(resolve, options.pageDelayMs));
    if (req.socket.destroyed) return;
    listUsers(url, res);
    answeredPages.push(page!);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { message: 'Server Error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    requests,
    answeredPages,
    issuedTokens,
    setUsers(next) {
      users = next;
    },
    fault(f) {
      if (f.kind === 'loop') {
        looping = true;
        return;
      }
      faults.push({ fault: f, remaining: f.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
