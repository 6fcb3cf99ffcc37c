import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/platform/logger';

describe('redactUrl (request URLs as they reach the log)', () => {
  it('hides the values of secret-looking query keys and keeps the rest', () => {
    expect(redactUrl('/api/users?page=2&token=abc.def&per_page=10')).toBe('/api/users?page=2&token=%5Bredacted%5D&per_page=10');
    for (const key of ['password', 'api_key', 'apiKey', 'X-Signature', 'session_id', 'Authorization', 'client_secret']) {
      const redacted = redactUrl(`/x?${key}=s3cr3t`);
      expect(redacted, key).not.toContain('s3cr3t');
    }
  });

  it('hides every copy of a repeated secret key', () => {
    expect(redactUrl('/x?token=one&token=two')).not.toMatch(/one|two/);
  });

  it('leaves URLs without a query, or without secrets, exactly as they were', () => {
    expect(redactUrl('/admin/users')).toBe('/admin/users');
    expect(redactUrl('/admin/users?q=a+b&page=3')).toBe('/admin/users?q=a+b&page=3');
  });
});
