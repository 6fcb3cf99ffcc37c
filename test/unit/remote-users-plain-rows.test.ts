import { describe, expect, it } from 'vitest';
import { parseRemoteUser } from '../../src/remote/remote-users';

// Plain rows skip the zod schema for speed; these are the edges where a shortcut could accept too much
// or read a value differently from the schema.
describe('parseRemoteUser on plain rows and their edges', () => {
  it('reads a plain row the way the schema does: trimmed name, string id, defaults', () => {
    expect(parseRemoteUser({ id: 0, name: '  Ada  ', email: 'ADA@X', role: 'vendor', is_active: false }, 1)).toEqual({
      ok: true,
      user: { email: 'ada@x', name: 'Ada', remoteId: '0', role: 'vendor', isActive: false },
    });
    expect(parseRemoteUser({ email: 'b@x' }, 1)).toEqual({
      ok: true,
      user: { email: 'b@x', name: '', remoteId: null, role: null, isActive: true },
    });
    expect(parseRemoteUser({ email: 'c@x', name: null, id: null, role: null, is_active: null }, 1)).toEqual({
      ok: true,
      user: { email: 'c@x', name: '', remoteId: null, role: null, isActive: true },
    });
  });

  it('accepts the longest name, role and string id the schema allows', () => {
    const result = parseRemoteUser({ email: 'd@x', name: 'n'.repeat(255), role: 'r'.repeat(64), id: 'i'.repeat(255) }, 1);
    expect(result.ok).toBe(true);
  });

  it.each([
    [{ email: 'e@x', name: 'n'.repeat(256) }, 'name is longer than 255 characters'],
    [{ email: 'e@x', role: 'r'.repeat(65) }, 'role is longer than 64 characters'],
    [{ email: 'e@x', id: 1.5 }, 'id is neither a number nor a string'],
    [{ email: 'e@x', id: 2 ** 53 }, 'id: Too big: expected int to be <=9007199254740991'],
    [{ email: 'e@x', id: 'i'.repeat(256) }, 'id is longer than 255 characters'],
    [{ email: 'e@x', role: 5 }, 'role is not a string'],
    [{ email: 'e@x', name: ['x'] }, 'name is not a string'],
  ])("still rejects %j with the schema's reason", (row, reason) => {
    const result = parseRemoteUser(row, 4);
    expect(result).toMatchObject({ ok: false, rejected: { page: 4, email: 'e@x', reason } });
  });

  it('leaves 0/1 and "0"/"1" flags and bad emails to the schema', () => {
    expect(parseRemoteUser({ email: 'f@x', is_active: '0' }, 1)).toMatchObject({ ok: true, user: { isActive: false } });
    expect(parseRemoteUser({ email: 'f@x', is_active: 1 }, 1)).toMatchObject({ ok: true, user: { isActive: true } });
    expect(parseRemoteUser({ email: '  ' }, 1)).toMatchObject({ ok: false, rejected: { reason: 'email is empty' } });
    expect(parseRemoteUser({ email: `${'x'.repeat(318)}@y` }, 1)).toMatchObject({ ok: true });
    expect(parseRemoteUser({ email: `${'x'.repeat(319)}@y` }, 1)).toMatchObject({ ok: false, rejected: { reason: /^invalid email/ } });
  });
});
