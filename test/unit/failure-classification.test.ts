import { describe, expect, it } from 'vitest';
import { classifyTransportFailure, transportCode } from '../../src/remote/describe-failure';
import { RemoteApiError } from '../../src/remote/remote-api-errors';
import { describeDatabaseFailure, describeFetchFailure } from '../../src/sync/failure-messages';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });
const target = { locationCode: 'DEV', page: 3 };
const MB = 1024 * 1024;

describe('classifyTransportFailure (a request that got no HTTP answer)', () => {
  it('retries time-outs and resets, by code or by message', () => {
    expect(classifyTransportFailure(withCode('ETIMEDOUT'), target, MB)).toEqual({ retryable: true, kind: 'timeout', code: 'ETIMEDOUT' });
    expect(classifyTransportFailure(new Error('timeout of 5000ms exceeded'), target, MB)).toMatchObject({ retryable: true, kind: 'timeout' });
    expect(classifyTransportFailure(withCode('ECONNRESET'), target, MB)).toMatchObject({ retryable: true, kind: 'reset' });
    expect(classifyTransportFailure(new Error('socket hang up'), target, MB)).toMatchObject({ retryable: true, kind: 'reset' });
  });

  it('gives up on a refused connection or unknown host, naming the location (and the code for the log)', () => {
    const result = classifyTransportFailure(withCode('ECONNREFUSED'), { locationCode: 'DEV' }, MB);
    expect(result.retryable).toBe(false);
    const error = (result as { error: RemoteApiError }).error;
    expect(error).toBeInstanceOf(RemoteApiError);
    // The page says only that no connection was made; the code goes to the log as the detail.
    expect(error).toMatchObject({
      kind: 'unreachable',
      locationCode: 'DEV',
      message: 'could not connect to DEV on the login',
      detail: 'ECONNREFUSED',
    });
  });

  it('words a body over the limit, a refused URL, a redirect and a TLS failure for the admin', () => {
    const error = (e: unknown, maxBytes = MB) => (classifyTransportFailure(e, target, maxBytes) as { error: RemoteApiError }).error;
    expect(error(new Error('maxContentLength size of 2097152 exceeded'), 2 * MB)).toMatchObject({
      kind: 'too_large',
      message: 'DEV sent more than 2 MB on page 3 (REMOTE_MAX_BYTES)',
    });
    expect(error(withCode('ERR_URL_REFUSED', 'private address'))).toMatchObject({
      kind: 'refused_url',
      message: 'DEV: the online URL is refused: private address',
    });
    expect(error(withCode('ERR_FR_TOO_MANY_REDIRECTS'))).toMatchObject({
      kind: 'refused_url',
      message: 'DEV redirected page 3; redirects are not followed',
    });
    expect(error(withCode('DEPTH_ZERO_SELF_SIGNED_CERT'))).toMatchObject({
      kind: 'unreachable',
      message: 'could not connect to DEV on page 3',
      detail: 'TLS certificate refused: DEPTH_ZERO_SELF_SIGNED_CERT',
    });
  });

  it('finds the code through axios’ wrapper and an AggregateError', () => {
    const inner = new AggregateError([withCode('ECONNREFUSED')], 'all attempts failed');
    expect(transportCode({ code: 'ERR_BAD_RESPONSE', cause: inner })).toBe('ECONNREFUSED');
    expect(transportCode(new Error('no code'))).toBeUndefined();
  });
});

describe('describeDatabaseFailure and describeFetchFailure (words for the admin, never the SQL)', () => {
  it('names known SQLSTATEs and falls back to the code, never to the message', () => {
    expect(describeDatabaseFailure(withCode('57P01', 'terminating connection: select * from users where password = $1'))).toBe(
      'the database connection was terminated',
    );
    expect(describeDatabaseFailure(withCode('22P02', 'invalid input syntax: SELECT secret'))).toBe('database error 22P02');
    expect(describeDatabaseFailure(withCode('ECONNREFUSED'))).toBe('the database could not be reached (ECONNREFUSED)');
    expect(describeDatabaseFailure(new Error('Connection terminated unexpectedly'))).toBe('the database connection was lost');
    expect(describeDatabaseFailure(new Error('insert into users values (secret)'))).toBe('an unexpected database error');
  });

  it('keeps a RemoteApiError’s own words and names the location otherwise', () => {
    const remote = new RemoteApiError({ code: 'http_status', params: { location: 'DEV', page: 2, statusClass: 'HTTP 5xx' } }, { kind: 'http' });
    expect(describeFetchFailure('DEV', remote)).toBe('DEV answered HTTP 5xx on page 2');
    expect(describeFetchFailure('DEV', new Error('boom'))).toBe('Fetching the users of DEV failed: boom');
    expect(describeFetchFailure('DEV', 'nope')).toBe('Fetching the users of DEV failed: unknown error');
  });
});
