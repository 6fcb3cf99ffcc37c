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
 * with issuer, audience and expiry checked, and the admin looked up again on every request.
 */
export class ApiTokenService {
  constructor(private readonly deps: { jwt: Config['jwt']; auth: AuthService }) {}

  issue(user: User): IssuedToken {
    const { secret, issuer, audience, ttlSeconds } = this.deps.jwt;
    const accessToken = jwt.sign({}, secret, {
      algorithm: 'HS256',
      subject: String(user.id),
      expiresIn: ttlSeconds,
      issuer,
      audience,
    });
    return { accessToken, expiresIn: ttlSeconds };
  }

  /** The admin a token belongs to, or the reason for a refusal (jsonwebtoken's words, which never quote the token), for the log. */
  async check(token: string): Promise<{ user: User } | { refused: string }> {
    const { secret, issuer, audience } = this.deps.jwt;
    let subject: string | undefined;
    try {
      const payload = jwt.verify(token, secret, { algorithms: ['HS256'], issuer, audience, complete: false });
      // jsonwebtoken accepts a token without `exp`; this API never issues one, so none may last forever.
      if (typeof payload !== 'object' || typeof payload.exp !== 'number') return { refused: 'token without expiry' };
      subject = payload.sub;
    } catch (error) {
      return { refused: error instanceof Error ? error.message : 'invalid token' };
    }
    const userId = Number(subject);
    if (!Number.isSafeInteger(userId) || userId <= 0) return { refused: 'subject is not a user id' };
    const user = await this.deps.auth.findSignedIn(userId);
    return user ? { user } : { refused: 'the user is not an active admin of this instance' };
  }
}
