import type { UserListCount, UserListFilter, UserListPage, UsersRepository } from './users.queries';

/** One page of the user list, with how many users the filter matches and, when that is exact, the pages. */
export interface UserListResult extends UserListPage {
  total: UserListCount;
  /** Null when the total is a lower bound only. */
  pageCount: number | null;
}

/** User Management's reads, so its controller goes through a service as the other features' do. */
export class UserManagementService {
  constructor(private readonly deps: { users: Pick<UsersRepository, 'list' | 'count'> }) {}

  /** One page of users, filtered by location, status and a search over email and name, and their total. */
  async list(filter: UserListFilter): Promise<UserListResult> {
    const [result, total] = await Promise.all([this.deps.users.list(filter), this.deps.users.count(filter)]);
    return { ...result, total, pageCount: total.atLeast ? null : Math.max(1, Math.ceil(total.users / filter.perPage)) };
  }
}
