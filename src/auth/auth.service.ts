import type { Logger } from 'pino';
import type { Location } from '../locations/locations.queries';
import type { User, UsersRepository } from '../users/users.queries';
import { generatePassword, hashPassword, verifyPassword } from './password';

export const INVALID_CREDENTIALS = 'Invalid email or password.';

/**
 * Whether a sign-in's email field holds an email address. People type their password into it by
 * mistake; such text is neither logged nor shown back.
 */
export const looksLikeEmail = (text: string) => /^[^\s@]+@[^\s@]+$/.test(text);

/**
 * Who may sign in to this instance, in the browser or through its API: active admins of the instance's
 * own location that have a password. Synced users never have one, whatever their remote role.
 */
export function canSignIn(user: User, ownLocationId: number, passwordHash: string | null): boolean {
  return user.locationId === ownLocationId && user.isActive && user.role === 'admin' && passwordHash !== null;
}

export class AuthService {
  // Verified against for unknown emails, so both failures cost the same time.
  private decoyHash: Promise<string> | undefined;

  constructor(private readonly deps: { users: UsersRepository; ownLocation: Location; logger: Logger }) {}

  /** The signed-in admin, or undefined for any failure (the caller shows one message for all). */
  async authenticate(email: string, password: string): Promise<User | undefined> {
    // No account holds U+0000, and PostgreSQL would fail on it rather than find nothing.
    const found = email.includes('\u0000') ? undefined : await this.deps.users.findCredentials(this.deps.ownLocation.id, email);
    if (!found || found.passwordHash === null) {
      this.decoyHash ??= hashPassword(generatePassword());
      await verifyPassword(await this.decoyHash, password);
      return undefined;
    }
    const passwordMatches = await verifyPassword(found.passwordHash, password);
    if (!passwordMatches || !canSignIn(found.user, this.deps.ownLocation.id, found.passwordHash)) return undefined;
    return found.user;
  }

  /** The admin behind a session or token, if still allowed in (a deactivated admin is out at once). */
  async findSignedIn(userId: number): Promise<User | undefined> {
    const user = await this.deps.users.findById(userId);
    if (!user || user.locationId !== this.deps.ownLocation.id || !user.isActive || user.role !== 'admin') {
      return undefined;
    }
    return user;
  }

  async createOrResetAdmin(email: string, password: string, name = 'Administrator'): Promise<User> {
    return this.deps.users.upsertAdmin({
      locationId: this.deps.ownLocation.id,
      email,
      name,
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
    await this.createOrResetAdmin(email, initial.password ?? (generatedPassword as string));
    this.deps.logger.info({ email }, 'created the first admin');
    return { email, generatedPassword };
  }
}
