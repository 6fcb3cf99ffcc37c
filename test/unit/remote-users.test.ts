import { describe, expect, it } from 'vitest';
import { parseRemoteUser, parseRemoteUsers } from '../../src/remote/remote-users';

describe('parseRemoteUser', () => {
  it('normalises a contract row', () => {
    const result = parseRemoteUser({ id: 17, name: ' Dev Vendor 1 ', email: ' Dev_Vendor1@DKM ', role: 'vendor', is_active: true, extra: 1 }, 1);
    expect(result).toEqual({
      ok: true,
      user: { email: 'dev_vendor1@dkm', name: 'Dev Vendor 1', remoteId: '17', role: 'vendor', isActive: true },
    });
  });

  it.each([
    [0, false],
    [1, true],
    ['0', false],
    ['1', true],
    [false, false],
    [undefined, true],
    [null, true],
  ])('reads is_active %j as %s', (value, expected) => {
    const result = parseRemoteUser({ email: 'a@b', is_active: value }, 1);
    expect(result.ok && result.user.isActive).toBe(expected);
  });

  it('defaults a missing or null name to empty and keeps a string id', () => {
    const result = parseRemoteUser({ email: 'a@b', name: null, id: 'abc-1' }, 1);
    expect(result).toMatchObject({ ok: true, user: { name: '', remoteId: 'abc-1', role: null } });
  });

  it.each([
    [{ name: 'x' }, 'email is missing'],
    [{ email: 42 }, 'email is not a string'],
    [{ email: '   ' }, 'email is empty'],
    [{ email: 'no-at-sign' }, 'invalid email "no-at-sign"'],
    [{ email: 'two@@signs' }, 'invalid email "two@@signs"'],
    [{ email: 'sp ace@x' }, 'invalid email "sp ace@x"'],
    [{ email: 'a@b', is_active: 'yes' }, 'is_active is not a boolean, 0/1 or "0"/"1"'],
    [{ email: 'a@b', name: 7 }, 'name is not a string'],
    [{ email: 'a@b', id: { nested: true } }, 'id is neither a number nor a string'],
    ['just a string', 'not a JSON object'],
  ])('rejects %j: %s', (row, reason) => {
    const result = parseRemoteUser(row, 3);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.rejected.reason).toBe(reason);
      expect(result.rejected.page).toBe(3);
    }
  });

  it('keeps the email of a rejected row that has one, so that user is not deactivated', () => {
    const result = parseRemoteUser({ email: 'Kept@X', is_active: 'maybe' }, 1);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.rejected.email).toBe('kept@x');
  });

  it('shortens the excerpt of a huge row', () => {
    const result = parseRemoteUser({ email: 5, name: 'x'.repeat(5000) }, 1);
    expect(!result.ok && result.rejected.excerpt.length).toBeLessThanOrEqual(201);
  });
});

describe('parseRemoteUsers', () => {
  it('splits a page into users and rejections', () => {
    const page = parseRemoteUsers([{ email: 'a@b' }, { email: 'bad' }, { email: 'c@d' }], 2);
    expect(page.users.map((u) => u.email)).toEqual(['a@b', 'c@d']);
    expect(page.rejected).toHaveLength(1);
    expect(page.page).toBe(2);
  });
});
