import { describe, expect, it } from 'vitest';
import { guardRequired } from '../../src/sync/user-sync.service';

const settings = { previewTtlMinutes: 30, guardPercent: 20, guardMin: 10 };
// activeAfterCount: the active users left after execute (here the usable remote users are taken as active
// newcomers); a plan that leaves none is guarded too, see sync-guard.test.ts.

describe('guardRequired (the location code must be typed before execute)', () => {
  it('when the remote list is empty while local users are active, then it is required whatever the counts', () => {
    expect(guardRequired({ usableCount: 0, localActiveCount: 1, deactivateCount: 1, activeAfterCount: 0 }, settings)).toBe(true);
  });

  it('when the remote list is empty and nobody is active locally, then it is not', () => {
    expect(guardRequired({ usableCount: 0, localActiveCount: 0, deactivateCount: 0, activeAfterCount: 0 }, settings)).toBe(false);
  });

  it('when deactivations exceed both the percentage and the minimum, then it is required', () => {
    expect(guardRequired({ usableCount: 50, localActiveCount: 100, deactivateCount: 21, activeAfterCount: 129 }, settings)).toBe(true);
  });

  it('when deactivations reach exactly the percentage, or exceed it without passing the minimum, then it is not', () => {
    expect(guardRequired({ usableCount: 80, localActiveCount: 100, deactivateCount: 20, activeAfterCount: 160 }, settings)).toBe(false);
    // 6 of 10 is 60 %, but not more than 10 users.
    expect(guardRequired({ usableCount: 4, localActiveCount: 10, deactivateCount: 6, activeAfterCount: 8 }, settings)).toBe(false);
    expect(guardRequired({ usableCount: 4, localActiveCount: 10, deactivateCount: 10, activeAfterCount: 4 }, settings)).toBe(false);
    expect(guardRequired({ usableCount: 4, localActiveCount: 11, deactivateCount: 11, activeAfterCount: 4 }, settings)).toBe(true);
  });

  it('follows the configured percentage', () => {
    const counts = { usableCount: 60, localActiveCount: 100, deactivateCount: 40, activeAfterCount: 120 };
    expect(guardRequired(counts, { ...settings, guardPercent: 50 })).toBe(false);
    expect(guardRequired(counts, { ...settings, guardPercent: 39 })).toBe(true);
  });
});
