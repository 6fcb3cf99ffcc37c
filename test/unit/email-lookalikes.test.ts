import { describe, expect, it } from 'vitest';
import { allScripts, emailLookAlikeReason, normaliseEmail } from '../../src/platform/email';
import { parseRemoteUser } from '../../src/remote/remote-users';

// Issue 26, finding 6: addresses that read the same as another (a fullwidth letter, a Cyrillic `а`, a
// zero-width space) are either folded into the address they imitate or rejected with a reason.
describe('remote rows whose email imitates another address', () => {
  it('when the email has a fullwidth letter, then it is folded into the plain address it reads as', () => {
    expect(parseRemoteUser({ id: 1, email: 'admin@sinkron.ｌocal', name: 'Admin' }, 1)).toMatchObject({
      ok: true,
      user: { email: 'admin@sinkron.local' },
    });
    expect(parseRemoteUser({ email: 'ＡＤＭＩＮ@ＳＩＮＫＲＯＮ.ＬＯＣＡＬ' }, 1)).toMatchObject({ ok: true, user: { email: 'admin@sinkron.local' } });
  });

  it.each([
    ['\u0430dmin@sinkron.local', 'email mixes Cyrillic and Latin letters (look-alike of another address)'],
    ['admin@sinkr\u043en.local', 'email mixes Latin and Cyrillic letters (look-alike of another address)'],
    ['p\u0430ypal@example.com', 'email mixes Latin and Cyrillic letters (look-alike of another address)'],
    ['adm\u03b9n@sinkron.local', 'email mixes Latin and Greek letters (look-alike of another address)'],
    ['admin\u200b@sinkron.local', 'email contains an invisible character (U+200B)'],
    ['ad\u00admin@sinkron.local', 'email contains an invisible character (U+00AD)'],
    ['admin@sinkron\u200d.local', 'email contains an invisible character (U+200D)'],
    ['admin\u2060@sinkron.local', 'email contains an invisible character (U+2060)'],
    ['ad\ufeffmin@sinkron.local', 'email contains an invisible character (U+FEFF)'],
    ['nimda\u202e@sinkron.local', 'email contains an invisible character (U+202E)'],
    ['admin\u2066@sinkron.local', 'email contains an invisible character (U+2066)'],
    ['admin\u{e0041}@sinkron.local', 'email contains an invisible character (U+E0041)'],
    ['admin\ue000@sinkron.local', 'email contains an unassigned or private-use character (U+E000)'],
  ])('rejects %j: %s', (email, reason) => {
    const result = parseRemoteUser({ id: 7, email, name: 'Look Alike' }, 2);
    expect(result).toMatchObject({ ok: false, rejected: { page: 2, reason } });
  });

  it('when the email holds an invisible character, then the rejected row keeps the address without it (so that user is not deactivated) and shows it escaped', () => {
    const result = parseRemoteUser({ email: 'Admin\u200b@Sinkron.local' }, 1);
    expect(result).toMatchObject({ ok: false, rejected: { email: 'admin@sinkron.local', excerpt: '{"email":"Admin\\u200b@Sinkron.local"}' } });
  });

  it.each([
    ['иван@пример.рф', 'иван@пример.рф'],
    ['ИВАН@Пример.РФ', 'иван@пример.рф'],
    ['иван@example.com', 'иван@example.com'],
    ['สมชาย@ตัวอย่าง.ไทย', 'สมชาย@ตัวอย่าง.ไทย'],
    ['δοκιμή@παράδειγμα.δοκιμή', 'δοκιμή@παράδειγμα.δοκιμή'],
    ['田中たろうタロウ@例え.jp', '田中たろうタロウ@例え.jp'],
    ['tanaka太郎@example.jp', 'tanaka太郎@example.jp'],
    ['müller@bücher.de', 'müller@bücher.de'],
    ['Mu\u0308ller@example.de', 'm\u00fcller@example.de'],
    ['budi@contoh.co.id', 'budi@contoh.co.id'],
  ])('accepts the legitimate non-ASCII address %j as %j', (email, expected) => {
    expect(parseRemoteUser({ email }, 1)).toMatchObject({ ok: true, user: { email: expected } });
  });

  it('leaves plain ASCII addresses as they were: trimmed and lower-cased, `dev_vendor1@dkm` included', () => {
    expect(parseRemoteUser({ email: ' Dev_Vendor1@DKM ' }, 1)).toMatchObject({ ok: true, user: { email: 'dev_vendor1@dkm' } });
    expect(normaliseEmail('Odd+Tag.Name@Example.COM')).toBe('odd+tag.name@example.com');
    expect(emailLookAlikeReason('dev_vendor1@dkm')).toBeUndefined();
  });

  it('normalises to a fixed point: normalising twice changes nothing', () => {
    for (const email of ['admin@sinkron.ｌocal', 'ＡＤＭＩＮ@x', 'Mu\u0308ller@x', 'İstanbul@x', 'ǄEMAL@x', 'ﬁle@x']) {
      expect(normaliseEmail(normaliseEmail(email))).toBe(normaliseEmail(email));
    }
  });

  it("knows every script of this runtime's Unicode: each letter outside Common and Inherited belongs to a listed one", () => {
    const anyScript = /[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}\p{Cn}\p{Co}\p{Cs}]/u;
    const listed = new RegExp(`[${[...allScripts().values()].map((script) => script.char.source).join('')}]`, 'u');
    const unlisted: string[] = [];
    for (let code = 0x80; code <= 0x10ffff; code++) {
      const char = String.fromCodePoint(code);
      if (!anyScript.test(char) && !listed.test(char)) unlisted.push(code.toString(16));
    }
    expect(allScripts().size).toBeGreaterThan(150);
    expect(unlisted).toEqual([]);
  });
});
