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

describe('parseRemoteUser and values that cannot be stored or shown', () => {
  it.each([
    [{ email: 'a@b', name: 'Nul\u0000Byte' }, 'name contains a control character (U+0000)'],
    [{ email: 'a@b', name: 'Tab\tInside' }, 'name contains a control character (U+0009)'],
    [{ email: 'a@b', name: 'Line\nBreak' }, 'name contains a control character (U+000A)'],
    [{ email: 'a@b', name: 'Del\u007f' }, 'name contains a control character (U+007F)'],
    [{ email: 'a@b', name: 'C1\u0085' }, 'name contains a control character (U+0085)'],
    [{ email: 'a@b', name: 'Lone \ud800 high' }, 'name contains an unpaired surrogate (U+D800)'],
    [{ email: 'a@b', name: 'Lone \udc00 low' }, 'name contains an unpaired surrogate (U+DC00)'],
    [{ email: 'a@b', role: 'ro\u0000le' }, 'role contains a control character (U+0000)'],
    [{ email: 'a@b', id: 'id\u0001' }, 'id contains a control character (U+0001)'],
    [{ email: 'a\u0000@b' }, 'email contains a control character (U+0000)'],
    [{ email: 'a\tb@c' }, 'email contains a control character (U+0009)'],
    [{ email: 'with space@b' }, 'invalid email "with space@b"'],
    [{ email: 'a@b', name: 'x'.repeat(256) }, 'name is longer than 255 characters'],
    [{ email: 'a@b', role: 'r'.repeat(65) }, 'role is longer than 64 characters'],
    [{ email: 'a@b', id: 'i'.repeat(256) }, 'id is longer than 255 characters'],
    [{ email: `${'e'.repeat(320)}@b` }, 'email is longer than 320 characters'],
  ])('rejects %#: %s', (row, reason) => {
    const result = parseRemoteUser(row, 1);
    expect(result.ok ? 'accepted' : result.rejected.reason).toBe(reason);
  });

  it('keeps paired surrogates (emoji) and other unicode', () => {
    const result = parseRemoteUser({ email: 'a@b', name: 'Ünïcødé 名前 🚀' }, 1);
    expect(result).toMatchObject({ ok: true, user: { name: 'Ünïcødé 名前 🚀' } });
  });

  it('does not keep an email it could not store for the "do not deactivate" rule', () => {
    const nul = parseRemoteUser({ email: 'a\u0000@b' }, 1);
    expect(!nul.ok && nul.rejected.email).toBeNull();
    const long = parseRemoteUser({ email: `${'e'.repeat(2000)}@b` }, 1);
    expect(!long.ok && long.rejected.email).toBeNull();
    const badName = parseRemoteUser({ email: 'Kept@B', name: 'x\u0000' }, 1);
    expect(!badName.ok && badName.rejected.email).toBe('kept@b');
  });

  it('writes the excerpt of a row with a NUL as JSON escapes, which the database stores', () => {
    const result = parseRemoteUser({ email: 'a@b', name: 'x\u0000\ud800' }, 1);
    expect(!result.ok && result.rejected.excerpt).toBe('{"email":"a@b","name":"x\\u0000\\ud800"}');
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
