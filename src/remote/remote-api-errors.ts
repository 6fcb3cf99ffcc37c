import { AppError } from '../platform/errors';

export type RemoteApiErrorKind = 'auth' | 'timeout' | 'unreachable' | 'protocol' | 'too_large' | 'http' | 'refused_url';

/**
 * A remote location's API could not be used. The message names the location, the page and the cause in
 * words an admin can act on; it never carries a password, a token or a raw axios error.
 */
export class RemoteApiError extends AppError {
  readonly kind: RemoteApiErrorKind;
  readonly locationCode: string;
  readonly page?: number;
  /** The remote HTTP status, when there was one. */
  readonly remoteStatus?: number;

  constructor(message: string, details: { kind: RemoteApiErrorKind; locationCode: string; page?: number; remoteStatus?: number }) {
    super(message, 502, true);
    this.kind = details.kind;
    this.locationCode = details.locationCode;
    if (details.page !== undefined) this.page = details.page;
    if (details.remoteStatus !== undefined) this.remoteStatus = details.remoteStatus;
  }

  /** The fields that are safe to log. */
  toLog(): Record<string, unknown> {
    return { kind: this.kind, location: this.locationCode, page: this.page, remoteStatus: this.remoteStatus, reason: this.message };
  }
}
