import { RemoteApiError } from '../remote/remote-api-errors';

/**
 * Words for an admin (and the log) about why a sync step failed. Database errors are described by their
 * SQLSTATE, never by their message: knex prefixes query errors with the SQL and its bound values.
 */

const DATABASE_CAUSES: Record<string, string> = {
  '57P01': 'the database connection was terminated',
  '57P02': 'the database connection was terminated',
  '57P03': 'the database is not accepting connections',
  '57014': 'the database cancelled the statement (time-out or cancel request)',
  '40001': 'a concurrent change conflicted with this one',
  '40P01': 'a deadlock with a concurrent change',
  '23505': 'a user with the same email was written at the same time',
  '53100': 'the database is out of disk space',
  '53200': 'the database is out of memory',
};

export function describeDatabaseFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && DATABASE_CAUSES[code]) return DATABASE_CAUSES[code];
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `database error ${code}`;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `the database could not be reached (${code})`;
  const message = error instanceof Error ? error.message : '';
  if (/Connection terminated|connection.*(closed|ended)|timeout acquiring a connection/i.test(message)) {
    return 'the database connection was lost';
  }
  return 'an unexpected database error';
}

/** The admin-facing reason a remote list could not be fetched, naming the location (and page, when known). */
export function describeFetchFailure(locationCode: string, error: unknown): string {
  if (error instanceof RemoteApiError) return error.message;
  const cause = error instanceof Error && error.message ? error.message : 'unknown error';
  return `Fetching the users of ${locationCode} failed: ${cause}`;
}

/** The admin-facing reason a preview failed for a cause other than the remote list: a database error or a bug. */
export function describePreviewFailure(locationCode: string, error: unknown): string {
  const database = describeDatabaseFailure(error);
  const cause = database === 'an unexpected database error' ? 'an internal error' : database;
  return `The preview of ${locationCode} failed unexpectedly (${cause}); nothing was changed. Run the preview again; if it fails again, the log has the details.`;
}
