import type { LocationChange } from '../locations/location.service';

/**
 * Why a plan item is what it is, or why a preview was superseded: a code and its parameters, stored as such
 * (sync_run_items.reason + reason_params, sync_runs.superseded_reason + superseded_params) and put into
 * words only where an admin reads them, in the admin's language (`reasons.<code>` in the locales).
 */
export interface Reason {
  code: ReasonCode;
  params: Record<string, string | number | boolean>;
}

export const ITEM_REASON_CODES = [
  /** A sync's deactivation: the remote list names the user as inactive ({location}). */
  'remote_inactive',
  /** A sync's deactivation: the remote list does not name the user ({location}). */
  'remote_missing',
  /** A revert's deactivation of a user the reverted run added ({run}). */
  'revert_added',
  /** A revert's deactivation of a user the reverted run reactivated ({run}). */
  'revert_reactivated',
  /** A revert's conflict: the user is gone. */
  'conflict_gone',
  /** A revert's conflict: the user moved to another location. */
  'conflict_moved',
  /** A revert's conflict: the user changed after the reverted run ({run}, {changedAt}); `accepted` once ticked. */
  'conflict_changed',
] as const;

export const SUPERSEDED_REASON_CODES = [
  'location_edited',
  'location_activated',
  'location_deactivated',
  'location_removed',
  'source_unrecorded',
  'url_changed',
  'credentials_removed',
  'login_changed',
] as const;

/** Text stored before codes existed that no pattern recognised, kept as it was ({text}). */
export const LEGACY_REASON = 'legacy' as const;

export type ReasonCode = (typeof ITEM_REASON_CODES)[number] | (typeof SUPERSEDED_REASON_CODES)[number] | typeof LEGACY_REASON;

export const reason = (code: ReasonCode, params: Reason['params'] = {}): Reason => ({ code, params });

export const supersededBy = (change: LocationChange, location: string): Reason => reason(`location_${change}`, { location });

/** The locale key and options of a reason, for i18next: `t(...describe(reason))`. */
export const reasonKey = (r: Pick<Reason, 'code'>) => `reasons.${r.code}`;
