// One @ with something on both sides and no white space: `dev_vendor1@dkm` is valid, no dot needed.
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+$/;

export const MAX_EMAIL_LENGTH = 320;

// eslint-disable-next-line no-control-regex -- the ASCII range, control characters included
const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * The one spelling of an email that Sinkron stores, compares and signs in with: trimmed, NFKC-folded (a
 * fullwidth `ｌ` becomes the `l` it imitates) and lower-cased. ASCII, almost every address, skips the fold.
 */
export function normaliseEmail(email: string): string {
  const trimmed = email.trim();
  return NON_ASCII.test(trimmed) ? trimmed.normalize('NFKC').toLowerCase() : normaliseAsciiEmail(trimmed);
}

/**
 * normaliseEmail without the lower-casing, for a lookup where PostgreSQL's lower() does it, as the unique
 * index on lower(email) does: JavaScript and PostgreSQL lower some letters differently (`İ`).
 */
export function foldEmail(email: string): string {
  const trimmed = email.trim();
  return NON_ASCII.test(trimmed) ? trimmed.normalize('NFKC') : trimmed;
}

/** normaliseEmail of an email known to be ASCII (the plain-row fast path): nothing to fold. */
export const normaliseAsciiEmail = (email: string): string => email.trim().toLowerCase();

export const isValidEmail = (email: string): boolean => EMAIL_PATTERN.test(email) && email.length <= MAX_EMAIL_LENGTH;

/** Characters that show nothing (format controls, bidi controls, soft hyphen, default-ignorables). */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
const EVERY_INVISIBLE = new RegExp(INVISIBLE.source, 'gu');
/** Those, and characters a font may draw as anything (private use) or this runtime's Unicode does not know. */
const INVISIBLE_OR_UNDEFINED = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Co}\p{Cn}]/u;

/** Every script of Unicode 17; a name this runtime's Unicode does not know yet is skipped. */
const SCRIPT_NAMES = `
  Latin Greek Cyrillic Armenian Hebrew Arabic Syriac Thaana Nko Samaritan Mandaic Devanagari Bengali Gurmukhi
  Gujarati Oriya Tamil Telugu Kannada Malayalam Sinhala Thai Lao Tibetan Myanmar Georgian Hangul Ethiopic
  Cherokee Canadian_Aboriginal Ogham Runic Tagalog Hanunoo Buhid Tagbanwa Khmer Mongolian Limbu Tai_Le
  New_Tai_Lue Buginese Tai_Tham Balinese Sundanese Batak Lepcha Ol_Chiki Glagolitic Coptic Tifinagh Hiragana
  Katakana Bopomofo Han Yi Lisu Vai Bamum Syloti_Nagri Phags_Pa Saurashtra Kayah_Li Rejang Javanese Cham Tai_Viet
  Meetei_Mayek Braille Linear_B Lycian Carian Old_Italic Gothic Old_Permic Ugaritic Old_Persian Deseret Shavian
  Osmanya Osage Elbasan Caucasian_Albanian Vithkuqi Linear_A Cypriot Imperial_Aramaic Palmyrene Nabataean Hatran
  Phoenician Lydian Meroitic_Hieroglyphs Meroitic_Cursive Kharoshthi Old_South_Arabian Old_North_Arabian
  Manichaean Avestan Inscriptional_Parthian Inscriptional_Pahlavi Psalter_Pahlavi Old_Turkic Old_Hungarian
  Hanifi_Rohingya Yezidi Old_Sogdian Sogdian Old_Uyghur Chorasmian Elymaic Brahmi Kaithi Sora_Sompeng Chakma
  Mahajani Sharada Khojki Multani Khudawadi Grantha Newa Tirhuta Siddham Modi Takri Ahom Dogra Warang_Citi
  Dives_Akuru Nandinagari Zanabazar_Square Soyombo Pau_Cin_Hau Bhaiksuki Marchen Masaram_Gondi Gunjala_Gondi
  Makasar Kawi Cuneiform Cypro_Minoan Egyptian_Hieroglyphs Anatolian_Hieroglyphs Mro Tangsa Bassa_Vah
  Pahawh_Hmong Medefaidrin Miao Tangut Khitan_Small_Script Nushu Duployan SignWriting Nyiakeng_Puachue_Hmong Toto
  Wancho Nag_Mundari Mende_Kikakui Adlam Garay Gurung_Khema Kirat_Rai Ol_Onal Sunuwar Todhri Tulu_Tigalari
  Beria_Erfe Sidetic Tai_Yo Tolong_Siki
`
  .trim()
  .split(/\s+/);

/** Characters every script uses (digits, punctuation) or that take the script of what they follow. */
const ANY_SCRIPT_CLASS = '\\p{Script_Extensions=Common}\\p{Script_Extensions=Inherited}';
const ANY_SCRIPT = new RegExp(`[${ANY_SCRIPT_CLASS}]`, 'u');

interface Script {
  name: string;
  /** A character of the script: one whose Script_Extensions include it. */
  char: RegExp;
  /** A text in this script alone (with digits, punctuation and combining marks), compiled when first asked. */
  only?: RegExp;
}

let scripts: Map<string, Script> | undefined;

/** The scripts by name, compiled at the first non-ASCII address rather than at every start. */
export function allScripts(): ReadonlyMap<string, Script> {
  scripts ??= new Map(
    SCRIPT_NAMES.flatMap((id) => {
      try {
        const name = id.replace(/_/g, ' ');
        return [[name, { name, char: new RegExp(`\\p{Script_Extensions=${id}}`, 'u') }] as const];
      } catch {
        return [];
      }
    }),
  );
  return scripts;
}

function isOnly(name: string, text: string): boolean {
  const script = allScripts().get(name);
  if (!script) return false;
  script.only ??= new RegExp(`^[${script.char.source}${ANY_SCRIPT_CLASS}]*$`, 'u');
  return script.only.test(text);
}

/**
 * Japanese writes Han, Hiragana and Katakana together, Korean Han and Hangul, Chinese Han and Bopomofo:
 * UTS #39 counts each mix as one script, and so does this check.
 */
const WRITING_SYSTEMS: Record<string, string[]> = {
  Han: ['Japanese', 'Korean', 'Han with Bopomofo'],
  Hiragana: ['Japanese'],
  Katakana: ['Japanese'],
  Hangul: ['Korean'],
  Bopomofo: ['Han with Bopomofo'],
};
const CJK = new Set(['Japanese', 'Korean', 'Han with Bopomofo']);

const ASCII_LETTER = /[a-z]/i;
const LATIN = ['Latin'];

/** A script set per code point, worked out once: an address repeats the few letters of its language. */
const scriptCache = new Map<number, readonly string[]>();
const SCRIPT_CACHE_SIZE = 10_000;

/** The scripts a character belongs to (its Script_Extensions), or undefined when it fits any script. */
function scriptsOf(char: string): readonly string[] | undefined {
  const code = char.codePointAt(0)!;
  if (code < 0x80) return ASCII_LETTER.test(char) ? LATIN : undefined;
  const cached = scriptCache.get(code);
  if (cached) return cached.length === 0 ? undefined : cached;
  let found: string[] = [];
  if (!ANY_SCRIPT.test(char)) {
    for (const script of allScripts().values()) if (script.char.test(char)) found.push(script.name);
    found.push(...new Set(found.flatMap((name) => WRITING_SYSTEMS[name] ?? [])));
    // A letter of a script newer than the list: a script of its own.
    if (found.length === 0) found = ['unlisted'];
  }
  if (scriptCache.size < SCRIPT_CACHE_SIZE) scriptCache.set(code, found);
  return found.length === 0 ? undefined : found;
}

/** The scripts every character of the part shares, or the first two that do not go together. */
function resolveScripts(sets: ReadonlyArray<readonly string[]>): { shared: string[] } | { clash: [string, string] } {
  let shared: string[] | undefined;
  for (const scripts of sets) {
    const next: string[] = shared === undefined ? [...scripts] : shared.filter((name) => scripts.includes(name));
    if (next.length === 0) return { clash: [shared![0]!, scripts[0]!] };
    shared = next;
  }
  return { shared: shared ?? [] };
}

/**
 * The two scripts a local part or domain mixes, or undefined when it keeps to one: a Cyrillic `а` among
 * Latin letters is a look-alike, a wholly Cyrillic or Thai part is not. Latin beside Japanese, Korean or
 * Chinese passes, as UTS #39's "highly restrictive" level allows.
 */
function mixedScripts(part: string): [string, string] | undefined {
  let first: string | undefined;
  for (const char of part) {
    first = scriptsOf(char)?.[0];
    if (first) break;
  }
  // Almost always the first letter's script covers the whole part: one test, no set arithmetic.
  if (first === undefined || isOnly(first, part)) return undefined;
  const sets: Array<readonly string[]> = [];
  for (const char of part) {
    const scripts = scriptsOf(char);
    if (scripts) sets.push(scripts);
  }
  const all = resolveScripts(sets);
  if ('shared' in all) return undefined;
  const beside = resolveScripts(sets.filter((scripts) => !scripts.includes('Latin')));
  if ('shared' in beside && beside.shared.some((name) => CJK.has(name))) return undefined;
  return all.clash;
}

const codePoint = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why a normalised email could pass for another address, or undefined: an invisible character, a
 * character no font agrees on, or a local part or domain that mixes scripts. ASCII returns at once.
 */
export function emailLookAlikeReason(email: string): string | undefined {
  if (!NON_ASCII.test(email)) return undefined;
  const odd = INVISIBLE_OR_UNDEFINED.exec(email)?.[0];
  if (odd !== undefined) {
    return INVISIBLE.test(odd)
      ? `email contains an invisible character (${codePoint(odd)})`
      : `email contains an unassigned or private-use character (${codePoint(odd)})`;
  }
  const at = email.lastIndexOf('@');
  for (const part of at < 0 ? [email] : [email.slice(0, at), email.slice(at + 1)]) {
    const mixed = mixedScripts(part);
    if (mixed) return `email mixes ${mixed[0]} and ${mixed[1]} letters (look-alike of another address)`;
  }
  return undefined;
}

/** The email with its invisible characters taken out: the address a row that holds them stands for. */
export const withoutInvisible = (email: string): string => (NON_ASCII.test(email) ? email.replace(EVERY_INVISIBLE, '') : email);

/** JSON text with its invisible characters written as `\uXXXX` escapes, for an admin to see them. */
export const showInvisible = (json: string): string =>
  json.replace(EVERY_INVISIBLE, (char) =>
    char
      .split('')
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .join(''),
  );
