import jwt from 'jsonwebtoken';
import type { Config } from '../config';
import type { User } from '../repositories/users.repository';
import type { AuthService } from './AuthService';

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

  /** The admin a token belongs to, or undefined for any bad, expired or outlived token. */
  async verify(token: string): Promise<User | undefined> {
    const { secret, issuer, audience } = this.deps.jwt;
    let subject: string | undefined;
    try {
      const payload = jwt.verify(token, secret, { algorithms: ['HS256'], issuer, audience, complete: false });
      // jsonwebtoken accepts a token without `exp`; this API never issues one, so none may last forever.
      if (typeof payload !== 'object' || typeof payload.exp !== 'number') return undefined;
      subject = payload.sub;
    } catch {
      return undefined;
    }
    const userId = Number(subject);
    if (!Number.isSafeInteger(userId) || userId <= 0) return undefined;
    return this.deps.auth.findSignedIn(userId);
  }
}
