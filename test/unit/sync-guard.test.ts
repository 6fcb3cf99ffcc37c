import { describe, expect, it } from 'vitest';
import { createFormatter } from '../../src/platform/i18n/format';
import { guardRequired } from '../../src/sync/user-sync.service';

const settings = { previewTtlMinutes: 30, guardPercent: 20, guardMin: 10 };
const plan = (counts: { deactivate: number; localActive: number; usable?: number; activeAfter?: number }) => ({
  deactivateCount: counts.deactivate,
  localActiveCount: counts.localActive,
  usableCount: counts.usable ?? counts.localActive,
  activeAfterCount: counts.activeAfter ?? counts.localActive - counts.deactivate,
});

describe('guardRequired', () => {
  it.each([
    ['more than the percentage and the minimum', plan({ deactivate: 11, localActive: 50 }), true],
    ['more than the percentage, not the minimum', plan({ deactivate: 10, localActive: 20 }), false],
    ['more than the minimum, not the percentage', plan({ deactivate: 11, localActive: 100 }), false],
    ['an empty remote list while users are active', plan({ deactivate: 0, localActive: 3, usable: 0, activeAfter: 3 }), true],
    ['no active user left, below the minimum', plan({ deactivate: 5, localActive: 5 }), true],
    ['every user deactivated but new active ones come', plan({ deactivate: 5, localActive: 5, activeAfter: 2 }), false],
    ['an empty location', plan({ deactivate: 0, localActive: 0, usable: 0 }), false],
  ])('%s: %s', (_, counts, expected) => {
    expect(guardRequired(counts, settings)).toBe(expected);
  });
});

describe('the page formatter (res.locals.fmt) for counts', () => {
  it('groups thousands as the language does', () => {
    const counts = [0, 999, 1000, 10_000, 1_234_567];
    expect(counts.map(createFormatter('en', 'Asia/Jakarta').number)).toEqual(['0', '999', '1,000', '10,000', '1,234,567']);
    expect(counts.map(createFormatter('id', 'Asia/Jakarta').number)).toEqual(['0', '999', '1.000', '10.000', '1.234.567']);
  });
});
