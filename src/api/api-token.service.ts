import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Config } from '../platform/config';
import type { User } from '../users/users.queries';
import type { AuthService } from '../auth/auth.service';

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
}

/**
 * Bearer tokens for the served API: HS256 only (so neither `none` nor a public-key confusion gets in),
 * with issuer, expiry and an audience naming this instance's location checked (another instance's token
 * is refused even under the same secret), and the account and its token version looked up on every request.
 */
export class ApiTokenService {
  private readonly audience: string;
  /**
   * The secret as a key object, made once: given a string, jsonwebtoken first tries to read it as a PEM
   * public key on every call, and that failed parse costs more than the rest of a served page's checks.
   */
  private readonly key: KeyObject;

  constructor(private readonly deps: { jwt: Config['jwt']; auth: AuthService; locationCode: string }) {
    this.audience = `${deps.jwt.audience}:${deps.locationCode}`;
    this.key = createSecretKey(Buffer.from(deps.jwt.secret, 'utf8'));
  }

  issue(user: User): IssuedToken {
    const { issuer, ttlSeconds } = this.deps.jwt;
    const { audience } = this;
    const accessToken = jwt.sign({ ver: user.tokenVersion }, this.key, {
      algorithm: 'HS256',
      subject: String(user.id),
      expiresIn: ttlSeconds,
      issuer,
      audience,
    });
    return { accessToken, expiresIn: ttlSeconds };
  }

  /** The account a token belongs to, or the reason for a refusal (jsonwebtoken's words, which never quote the token), for the log. */
  async check(token: string): Promise<{ user: User } | { refused: string }> {
    const { issuer } = this.deps.jwt;
    const { audience } = this;
    let subject: string | undefined;
    let version: unknown;
    try {
      const payload = jwt.verify(token, this.key, { algorithms: ['HS256'], issuer, audience, complete: false });
      // jsonwebtoken accepts a token without `exp`; this API never issues one, so none may last forever.
      if (typeof payload !== 'object' || typeof payload.exp !== 'number') return { refused: 'token without expiry' };
      subject = payload.sub;
      version = payload.ver;
    } catch (error) {
      return { refused: error instanceof Error ? error.message : 'invalid token' };
    }
    const userId = Number(subject);
    if (!Number.isSafeInteger(userId) || userId <= 0) return { refused: 'subject is not a user id' };
    if (typeof version !== 'number') return { refused: 'token without a token version' };
    const user = await this.deps.auth.findSignedIn(userId, 'api', version);
    return user ? { user } : { refused: 'not an active API account of this instance, or its password was reset since' };
  }
}
