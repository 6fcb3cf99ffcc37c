import type { Language } from './languages';

// Indonesia's zones have names every admin knows; Intl only gives them in Indonesian ("WIB").
const ZONE_NAMES: Record<string, string> = {
  'Asia/Jakarta': 'WIB',
  'Asia/Pontianak': 'WIB',
  'Asia/Makassar': 'WITA',
  'Asia/Jayapura': 'WIT',
};

const LOCALES: Record<Language, string> = { id: 'id-ID', en: 'en-GB' };

export interface Formatter {
  /** "30 Nov 2026 14.06 WIB" / "30 Nov 2026 14:06 WIB"; a dash for no date. */
  dateTime(date: Date | null | undefined): string;
  /** 10.000 in Indonesian, 10,000 in English. */
  number(value: number): string;
  /** The zone's short name: WIB, WITA, WIT, UTC or an offset such as GMT+1. */
  zone(date?: Date): string;
}

/** The one formatter views get (res.locals.fmt): stored times are UTC, shown in DISPLAY_TIMEZONE. */
export function createFormatter(language: Language, timeZone: string): Formatter {
  const locale = LOCALES[language];
  const dateTimeFormat = new Intl.DateTimeFormat(locale, {
    timeZone,
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const offsetFormat = new Intl.DateTimeFormat('en-GB', { timeZone, timeZoneName: 'shortOffset' });
  const numberFormat = new Intl.NumberFormat(locale);
  const zone = (date = new Date()) => {
    if (ZONE_NAMES[timeZone]) return ZONE_NAMES[timeZone];
    if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 'UTC';
    return offsetFormat.formatToParts(date).find((part) => part.type === 'timeZoneName')?.value ?? timeZone;
  };
  return {
    // "30 Nov 2026 14.06 WIB" as the glossary writes it: no comma between date and time.
    dateTime: (date) => (date ? `${dateTimeFormat.format(date).replace(/,\s/, ' ')} ${zone(date)}` : '—'),
    number: (value) => numberFormat.format(value),
    zone,
  };
}

/** Whether Intl knows the zone (config refuses an unknown DISPLAY_TIMEZONE at start-up). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
