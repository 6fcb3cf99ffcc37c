import { AppError } from '../platform/errors';
import { english } from '../platform/i18n/english';
import { describeRemoteFailure, type RemoteFailure } from './remote-failures';

export const REMOTE_API_ERROR_KINDS = ['auth', 'timeout', 'unreachable', 'protocol', 'too_large', 'http', 'refused_url'] as const;
export type RemoteApiErrorKind = (typeof REMOTE_API_ERROR_KINDS)[number];

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
  /**
   * What only the log may say (the error code, the exact status, the content type): shown on a page it
   * would let an admin map which internal ports refuse, reset or answer.
   */
  readonly detail?: string;

  /** What went wrong as a code and its parameters: pages say it in their reader's language. */
  readonly failure: RemoteFailure;

  /** The message is the failure in English (for the log, the CLI and the served API). */
  constructor(failure: RemoteFailure, details: { kind: RemoteApiErrorKind; remoteStatus?: number; detail?: string }) {
    super(describeRemoteFailure(english, failure), 502, true);
    this.failure = failure;
    this.kind = details.kind;
    this.locationCode = failure.params.location;
    if (failure.params.page !== undefined) this.page = failure.params.page;
    if (details.remoteStatus !== undefined) this.remoteStatus = details.remoteStatus;
    if (details.detail !== undefined) this.detail = details.detail;
  }

  /** The fields that are safe to log. */
  toLog(): Record<string, unknown> {
    return {
      kind: this.kind,
      location: this.locationCode,
      page: this.page,
      remoteStatus: this.remoteStatus,
      detail: this.detail,
      reason: this.message,
      code: this.failure.code,
    };
  }
}
