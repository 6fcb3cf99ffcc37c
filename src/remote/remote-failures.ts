import type { TFunction } from 'i18next';

/** Why a remote's list could not be used, as a code and its parameters (`failures.<code>` in the locales). */
export interface RemoteFailure {
  code: RemoteFailureCode;
  params: { location: string; page?: number; retries?: number } & Record<string, string | number | undefined>;
}

export const REMOTE_FAILURE_CODES = [
  'login_no_token',
  'login_refused',
  'login_token_refused',
  'url_refused_at',
  'could_not_connect',
  'http_status',
  'deadline',
  'redirect',
  'not_the_api',
  'malformed_json',
  'too_many_rows',
  'no_online_url',
  'url_refused',
  'url_unconfirmed',
  'plain_http',
  'no_credentials',
  'not_a_users_page',
  'too_many_on_page',
  'looping',
  'too_many_pages',
  'too_large',
  'redirected',
] as const;
export type RemoteFailureCode = (typeof REMOTE_FAILURE_CODES)[number];

/** A remote failure in the reader's language; `where` (the login, page N) and the retries are said in it too. */
export function describeRemoteFailure(t: TFunction, failure: Pick<RemoteFailure, 'code' | 'params'>): string {
  const { page, retries } = failure.params;
  return t(`failures.${failure.code}`, {
    ...failure.params,
    where: page === undefined ? t('failures.where.login') : t('failures.where.page', { page }),
    retries: retries ? t('failures.afterRetries', { count: retries }) : '',
  });
}
