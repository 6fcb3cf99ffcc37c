import { afterAll } from 'vitest';
import { TEST_ADMIN, TEST_API_ACCOUNT, TEST_SECRETS } from './app';
import { DEFAULT_REMOTE_CREDENTIALS } from './laravel-server';
import { capturedLines } from './logs';

/**
 * Runs after every test file: no line any test captured from the app's logger may hold a password,
 * a secret or a JWT. Security issue 7 asks this of "the whole test run", not of one flow.
 */
const SECRETS: Record<string, string> = {
  'the test admin password': TEST_ADMIN.password,
  'the test API account password': TEST_API_ACCOUNT.password,
  'the remote API password': DEFAULT_REMOTE_CREDENTIALS.password,
  'the session secret': TEST_SECRETS.SESSION_SECRET,
  'the JWT secret': TEST_SECRETS.JWT_SECRET,
};
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;
const ARGON2_HASH = /\$argon2id\$v=\d+\$m=\d+/;

afterAll(() => {
  const leaks: string[] = [];
  for (const line of capturedLines) {
    for (const [what, secret] of Object.entries(SECRETS)) if (line.includes(secret)) leaks.push(`${what}: ${line.slice(0, 300)}`);
    if (JWT.test(line)) leaks.push(`a JWT: ${line.slice(0, 300)}`);
    if (ARGON2_HASH.test(line)) leaks.push(`a password hash: ${line.slice(0, 300)}`);
  }
  if (leaks.length > 0) throw new Error(`Secrets reached the logs in this test file:\n${leaks.join('\n')}`);
});
