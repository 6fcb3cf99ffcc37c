import type { Knex } from '../platform/db/knex';
import type { Location } from '../locations/locations.queries';
import { PageEnds } from './page-ends';
import { pageOfLocationUsers, type PageStart } from './users-page.queries';

export const API_DEFAULT_PER_PAGE = 500;
export const API_MAX_PER_PAGE = 1000;

export interface ApiUser {
  id: number;
  name: string;
  email: string;
  role: string | null;
  is_active: boolean;
  updated_at: string;
}

/** Laravel's API-resource collection shape, as the contract's "Serve" part describes it. */
export interface ApiUsersPage {
  data: ApiUser[];
  links: { first: string; last: string; prev: string | null; next: string | null };
  meta: {
    current_page: number;
    from: number | null;
    last_page: number;
    per_page: number;
    to: number | null;
    total: number;
    path: string;
  };
}

/** The own location's users, served to other Sinkron instances that sync from this one. */
export class UsersApiService {
  private readonly pageEnds = new PageEnds();

  constructor(private readonly deps: { db: Knex; ownLocation: Location }) {}

  /**
   * A page as the JSON text of ApiUsersPage: the users' array comes from PostgreSQL as text and is set into
   * the envelope as it is, so serving a page allocates no object per user. `path` is the URL of the list
   * (from PUBLIC_URL, or a path on this origin), for the links. The next link carries `after_id`, the page's last id: a client that follows
   * it is served the next page by key, without walking the pages before it; a page asked for by number
   * starts from the end of a page served shortly before, when there is one (PageEnds).
   */
  async pageJson(request: { page: number; perPage: number; afterId?: number; path: string }): Promise<string> {
    const { page, perPage, afterId, path } = request;
    const start: PageStart = afterId !== undefined ? { afterId } : { offset: (page - 1) * perPage, seek: this.pageEnds.seekFor(perPage, page) };
    const users = await pageOfLocationUsers(this.deps.db, this.deps.ownLocation.id, start, perPage);
    if (afterId === undefined) this.pageEnds.remember(users.generation, perPage, page, users.lastId);
    const lastPage = Math.max(1, Math.ceil(users.total / perPage));
    const link = (n: number) => `${path}?page=${n}&per_page=${perPage}`;
    const from = users.rows > 0 ? (page - 1) * perPage + 1 : null;
    const links: ApiUsersPage['links'] = {
      first: link(1),
      last: link(lastPage),
      prev: page > 1 ? link(Math.min(page - 1, lastPage)) : null,
      next: page < lastPage ? `${link(page + 1)}${users.lastId === null ? '' : `&after_id=${users.lastId}`}` : null,
    };
    const meta: ApiUsersPage['meta'] = {
      current_page: page,
      from,
      last_page: lastPage,
      per_page: perPage,
      to: from === null ? null : from + users.rows - 1,
      total: users.total,
      path,
    };
    return `{"data":${users.dataJson},"links":${JSON.stringify(links)},"meta":${JSON.stringify(meta)}}`;
  }
}
