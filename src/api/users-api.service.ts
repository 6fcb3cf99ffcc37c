import type { Knex } from '../platform/db/knex';
import type { Location } from '../locations/locations.queries';
import { pageOfLocationUsers } from './users-page.queries';

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
  constructor(private readonly deps: { db: Knex; ownLocation: Location }) {}

  /** `path` is the absolute URL of the list, for the page links. */
  async page(request: { page: number; perPage: number; path: string }): Promise<ApiUsersPage> {
    const { page, perPage, path } = request;
    const { rows, total } = await pageOfLocationUsers(this.deps.db, this.deps.ownLocation.id, page, perPage);
    const lastPage = Math.max(1, Math.ceil(total / perPage));
    const link = (n: number) => `${path}?page=${n}&per_page=${perPage}`;
    const from = rows.length > 0 ? (page - 1) * perPage + 1 : null;
    return {
      data: rows.map((row) => ({
        id: row.id,
        name: row.name,
        email: row.email,
        role: row.role,
        is_active: row.is_active,
        updated_at: new Date(row.updated_at).toISOString(),
      })),
      links: {
        first: link(1),
        last: link(lastPage),
        prev: page > 1 ? link(Math.min(page - 1, lastPage)) : null,
        next: page < lastPage ? link(page + 1) : null,
      },
      meta: {
        current_page: page,
        from,
        last_page: lastPage,
        per_page: perPage,
        to: from === null ? null : from + rows.length - 1,
        total,
        path,
      },
    };
  }
}
