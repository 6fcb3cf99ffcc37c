import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config';
import { createFormatter } from '../../src/platform/i18n/format';
import { translations } from '../../src/platform/i18n/i18n';
import { LANGUAGES } from '../../src/platform/i18n/languages';

const ROOT = path.resolve(import.meta.dirname, '../..');

function filesUnder(dir: string, ending: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith(ending))
    .map((file) => path.join(dir, file));
}

function flatten(tree: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' ? flatten(value as Record<string, unknown>, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

const valueAt = (tree: Record<string, unknown>, key: string): unknown =>
  key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], tree);

const keysOf = (language: (typeof LANGUAGES)[number]) => new Set(flatten(translations[language]));
// i18next looks up `key_one` / `key_other` for t('key', { count }).
const baseKey = (key: string) => key.replace(/_(zero|one|two|few|many|other)$/, '');

/** The literal keys passed to t(...) / req.t(...) in views and source, and the prefixes of built ones. */
function usedKeys(): { literal: Set<string>; prefixes: Set<string> } {
  const literal = new Set<string>();
  const prefixes = new Set<string>();
  const sources = [...filesUnder('views', '.ejs'), ...filesUnder('src', '.ts')].map((file) => fs.readFileSync(path.join(ROOT, file), 'utf8'));
  for (const source of sources) {
    for (const match of source.matchAll(/\bt\(\s*'([a-zA-Z][\w.]*)'\s*[,)]/g)) literal.add(match[1]!);
    for (const match of source.matchAll(/\bt\(\s*(?:'([a-zA-Z][\w.]*\.)'\s*\+|`([a-zA-Z][\w.]*\.)\$\{)/g)) prefixes.add((match[1] ?? match[2])!);
    // t(cond ? 'a.b' : 'a.c', …)
    for (const match of source.matchAll(/\bt\(\s*[^'`()]+\?\s*'([\w.]+)'\s*:\s*'([\w.]+)'/g)) {
      literal.add(match[1]!);
      literal.add(match[2]!);
    }
  }
  return { literal, prefixes };
}

describe('the translations', () => {
  it('hold the same keys in every language', () => {
    const [first, ...others] = LANGUAGES.map((language) => [language, keysOf(language)] as const);
    for (const [language, keys] of others) {
      expect(
        [...first![1]].filter((key) => !keys.has(key)),
        `missing in ${language}`,
      ).toEqual([]);
      expect(
        [...keys].filter((key) => !first![1].has(key)),
        `missing in ${first![0]}`,
      ).toEqual([]);
    }
  });

  it('have every key the views and the code ask for, in every language', () => {
    const { literal, prefixes } = usedKeys();
    expect(literal.size).toBeGreaterThan(100);
    for (const language of LANGUAGES) {
      const keys = new Set([...keysOf(language)].map(baseKey));
      expect(
        [...literal].filter((key) => !keys.has(key)),
        `missing in ${language}`,
      ).toEqual([]);
      for (const prefix of prefixes)
        expect(
          [...keys].some((key) => key.startsWith(prefix)),
          `${prefix}* in ${language}`,
        ).toBe(true);
    }
  });

  it('leave no value empty and translate more than names', () => {
    const pairs = flatten(translations.en).map((key) => [key, valueAt(translations.en, key), valueAt(translations.id, key)] as const);
    expect(pairs.filter(([, a, b]) => !a || !b).map(([key]) => key)).toEqual([]);
    // Most strings differ: an untranslated copy of the English file would fail here.
    expect(pairs.filter(([, a, b]) => a !== b).length / pairs.length).toBeGreaterThan(0.8);
  });

  it('use the glossary terms for the main actions', () => {
    const id = translations.id;
    expect(valueAt(id, 'users.syncButton')).toBe('Sinkronkan dari Server');
    expect(valueAt(id, 'status.previewed')).toBe('Pratinjau');
    expect(valueAt(id, 'sync.execute.button')).toBe('Konfirmasi & Jalankan');
    expect(valueAt(id, 'locations.deactivate')).toBe('Nonaktifkan');
    expect(valueAt(id, 'nav.users')).toBe('Manajemen Pengguna');
    expect(valueAt(id, 'remoteKinds.auth')).toBe('Login API gagal');
  });
});

/**
 * The user-facing text a view holds outside the translation function: text between tags and the
 * attributes people read or hear (title, aria-label, placeholder, alt, data-label, a submit input's value).
 */
function untranslatedText(template: string): string[] {
  const withoutCode = template
    .replace(/<%#[\s\S]*?%>/g, '')
    .replace(/<%[=-][\s\S]*?%>/g, '\uE000')
    .replace(/<%[\s\S]*?%>/g, '');
  // Not words: the product's name, numbers, symbols, an example URL.
  const isWordless = (text: string) =>
    !/[A-Za-z]{2,}/.test(
      text
        .replace(/\uE000/g, ' ')
        .replace(/\bSinkron\b/g, ' ')
        .replace(/https?:\/\/[\w.-]+/g, ' ')
        .replace(/&[a-z]+;/g, ' '),
    );
  const found: string[] = [];
  // Sentences in the views' code (an include's title, a fallback text): string literals of two words or more.
  for (const block of template.matchAll(/<%[=-]?([\s\S]*?)%>/g)) {
    for (const literal of block[1]!.matchAll(/'([^'\n]*)'|"([^"\n]*)"/g)) {
      const text = (literal[1] ?? literal[2])!;
      if (/[A-Za-z]{2,}\s+[A-Za-z]{2,}/.test(text) && !text.includes('=')) found.push(`code: ${text}`);
    }
  }
  const markup = withoutCode.replace(/<(script|style)\b[\s\S]*?<\/\1>/g, '');
  for (const match of markup.matchAll(/>([^<>]+)</g)) {
    const text = match[1]!.trim();
    if (text && !isWordless(text)) found.push(`text: ${text}`);
  }
  for (const match of markup.matchAll(/\s(title|aria-label|placeholder|alt|data-label|aria-description)="([^"]*)"/g)) {
    if (!isWordless(match[2]!)) found.push(`${match[1]}: ${match[2]}`);
  }
  for (const match of markup.matchAll(/<input\b[^>]*\btype="(?:submit|button|reset)"[^>]*>/g)) {
    const value = /\svalue="([^"]*)"/.exec(match[0])?.[1] ?? '';
    if (!isWordless(value)) found.push(`value: ${value}`);
  }
  return found;
}

describe('the views', () => {
  const views = filesUnder('views', '.ejs');

  it('finds English outside t() (the check itself)', () => {
    expect(untranslatedText('<p>Hello <%= name %></p><button title="Close">x</button>')).toEqual(['text: Hello \uE000', 'title: Close']);
    expect(untranslatedText('<p><%= t("a.b") %> · <%= n %></p><input type="url" placeholder="https://dev.example.com">')).toEqual([]);
    expect(untranslatedText("<%- include('x', { title: 'To deactivate', kind: 'deactivate' }) %>")).toEqual(['code: To deactivate']);
  });

  it.each(views)('%s holds no user-facing English outside t()', (file) => {
    expect(untranslatedText(fs.readFileSync(path.join(ROOT, file), 'utf8'))).toEqual([]);
  });
});

describe('DEFAULT_LANGUAGE and DISPLAY_TIMEZONE', () => {
  it('default to Indonesian and Jakarta, and refuse what they cannot use', () => {
    expect(loadConfig({}).i18n).toEqual({ defaultLanguage: 'id', displayTimeZone: 'Asia/Jakarta' });
    expect(loadConfig({ DEFAULT_LANGUAGE: 'en', DISPLAY_TIMEZONE: 'Asia/Jayapura' }).i18n).toEqual({
      defaultLanguage: 'en',
      displayTimeZone: 'Asia/Jayapura',
    });
    expect(() => loadConfig({ DEFAULT_LANGUAGE: 'fr' })).toThrow(/DEFAULT_LANGUAGE/);
    expect(() => loadConfig({ DISPLAY_TIMEZONE: 'Mars/Olympus' })).toThrow(/DISPLAY_TIMEZONE/);
  });
});

describe('the formatter', () => {
  const noon = new Date('2026-11-30T07:06:00Z');

  it('shows stored UTC times in the display zone with its Indonesian name', () => {
    expect(createFormatter('id', 'Asia/Jakarta').dateTime(noon)).toBe('30 Nov 2026 14.06 WIB');
    expect(createFormatter('en', 'Asia/Jakarta').dateTime(noon)).toBe('30 Nov 2026 14:06 WIB');
    expect(createFormatter('id', 'Asia/Makassar').dateTime(noon)).toBe('30 Nov 2026 15.06 WITA');
    expect(createFormatter('id', 'Asia/Jayapura').dateTime(noon)).toBe('30 Nov 2026 16.06 WIT');
    expect(createFormatter('en', 'UTC').dateTime(noon)).toBe('30 Nov 2026 07:06 UTC');
    expect(createFormatter('en', 'Europe/Berlin').dateTime(noon)).toBe('30 Nov 2026 08:06 GMT+1');
    expect(createFormatter('id', 'Asia/Jakarta').dateTime(null)).toBe('—');
  });

  it('groups numbers as the language does', () => {
    expect(createFormatter('id', 'Asia/Jakarta').number(10000)).toBe('10.000');
    expect(createFormatter('en', 'Asia/Jakarta').number(10000)).toBe('10,000');
  });
});
