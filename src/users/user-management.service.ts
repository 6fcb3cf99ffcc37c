import type { UserListFilter, UserListPage, UsersRepository } from './users.queries';

/** User Management's reads, so its controller goes through a service as the other features' do. */
export class UserManagementService {
  constructor(private readonly deps: { users: Pick<UsersRepository, 'list'> }) {}

  /** One page of users, filtered by location, status and a search over email and name. */
  list(filter: UserListFilter): Promise<UserListPage> {
    return this.deps.users.list(filter);
  }
}
