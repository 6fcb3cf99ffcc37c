import type { Logger } from 'pino';
import type { Location } from '../locations/locations.queries';
import { foldEmail } from '../platform/email';
import type { AccountRole, User, UsersRepository } from '../users/users.queries';
import { generatePassword, hashPassword, verifyPassword } from './password';

export const INVALID_CREDENTIALS = 'Invalid email or password.';

/** Where an account signs in: the admin pages (browser) or the served API (bearer tokens). */
export type SignInPurpose = 'pages' | 'api';

/**
 * Who may sign in to this instance: active accounts of the instance's own location that have a password,
 * admins to the pages and `api` accounts to the API (admins there too only with API_ALLOW_ADMINS). Synced
 * users never have a password, whatever their remote role.
 */
export function canSignIn(user: User, ownLocationId: number, passwordHash: string | null, purpose: SignInPurpose, allowAdminsOnApi = false): boolean {
  if (user.locationId !== ownLocationId || !user.isActive || passwordHash === null) return false;
  return hasAccess(user, purpose, allowAdminsOnApi);
}

function hasAccess(user: User, purpose: SignInPurpose, allowAdminsOnApi: boolean): boolean {
  if (purpose === 'pages') return user.role === 'admin';
  return user.role === 'api' || (allowAdminsOnApi && user.role === 'admin');
}

export class AuthService {
  // Verified against for unknown emails, so both failures cost the same time.
  private decoyHash: Promise<string> | undefined;

  constructor(private readonly deps: { users: UsersRepository; ownLocation: Location; logger: Logger; allowAdminsOnApi?: boolean }) {}

  /** The signed-in account, or undefined for any failure (the caller shows one message for all). */
  async authenticate(email: string, password: string, purpose: SignInPurpose): Promise<User | undefined> {
    // No account holds U+0000, and PostgreSQL would fail on it rather than find nothing.
    const found = email.includes('\u0000') ? undefined : await this.deps.users.findCredentials(this.deps.ownLocation.id, foldEmail(email));
    if (!found || found.passwordHash === null) {
      this.decoyHash ??= hashPassword(generatePassword());
      await verifyPassword(await this.decoyHash, password);
      return undefined;
    }
    const passwordMatches = await verifyPassword(found.passwordHash, password);
    const allowed = canSignIn(found.user, this.deps.ownLocation.id, found.passwordHash, purpose, this.deps.allowAdminsOnApi);
    return passwordMatches && allowed ? found.user : undefined;
  }

  /**
   * The account behind a session or token, if still allowed in: a deactivated account, or one whose
   * password was reset since (another token version), is out at once.
   */
  async findSignedIn(userId: number, purpose: SignInPurpose, tokenVersion: number): Promise<User | undefined> {
    const user = await this.deps.users.findById(userId);
    if (!user || user.locationId !== this.deps.ownLocation.id || !user.isActive) return undefined;
    if (user.tokenVersion !== tokenVersion || !hasAccess(user, purpose, this.deps.allowAdminsOnApi ?? false)) return undefined;
    return user;
  }

  /** The admin a command-line user names with --as: one who could sign in to the admin pages. */
  async findAdminByEmail(email: string): Promise<User | undefined> {
    const found = await this.deps.users.findCredentials(this.deps.ownLocation.id, foldEmail(email));
    return found && canSignIn(found.user, this.deps.ownLocation.id, found.passwordHash, 'pages') ? found.user : undefined;
  }

  /** What login throttling counts a typed email as (the account it reaches, compared as the database does). */
  loginKey(email: string): Promise<string> {
    if (email.includes('\u0000')) return Promise.resolve('email:(invalid)');
    return this.deps.users.loginKey(this.deps.ownLocation.id, foldEmail(email));
  }

  /** Creates the account or resets its password (which ends its sessions and tokens), with the given role. */
  async createOrResetAccount(email: string, password: string, options: { role?: AccountRole; name?: string } = {}): Promise<User> {
    const role = options.role ?? 'admin';
    return this.deps.users.upsertAccount({
      locationId: this.deps.ownLocation.id,
      email,
      name: options.name ?? (role === 'api' ? 'API account' : 'Administrator'),
      role,
      passwordHash: await hashPassword(password),
    });
  }

  /**
   * Creates the first admin when there is none: from ADMIN_EMAIL / ADMIN_PASSWORD, or with a generated
   * password that is returned once so that start-up can print it.
   */
  async ensureInitialAdmin(initial: {
    email: string | undefined;
    password: string | undefined;
  }): Promise<{ email: string; generatedPassword?: string } | undefined> {
    if (await this.deps.users.hasActiveAdmin(this.deps.ownLocation.id)) return undefined;
    const email = initial.email ?? 'admin@sinkron.local';
    const generatedPassword = initial.password ? undefined : generatePassword();
    await this.createOrResetAccount(email, initial.password ?? (generatedPassword as string));
    this.deps.logger.info({ email }, 'created the first admin');
    return { email, generatedPassword };
  }
}
