import { describe, expect, it } from 'vitest';
import { PlanPacer } from '../../src/sync/preview/plan-pacer';

/** Feeds pages of `pageSize` remote rows with `changed` of them staged; returns the staged count of each stretch. */
function stretches(pages: number, pageSize: number, changed: number): number[] {
  const pacer = new PlanPacer();
  const sizes: number[] = [];
  let received = 0;
  let unplanned = 0;
  for (let page = 0; page < pages; page++) {
    received += pageSize;
    unplanned += changed;
    if (pacer.add(changed)) {
      pacer.planned(received);
      sizes.push(unplanned);
      unplanned = 0;
    }
  }
  return sizes;
}

describe('PlanPacer', () => {
  it('plans a stretch of 1,000 staged rows at a time while few rows change', () => {
    // 100,000 remote users, one in ten staged: 10,000 staged rows.
    expect(stretches(100, 1000, 100)).toEqual(Array(10).fill(1000));
  });

  it('lengthens the stretches, up to a bound, when most rows change', () => {
    const sizes = stretches(100, 1000, 1000);
    expect(sizes.slice(0, 5)).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect(Math.max(...sizes)).toBe(PlanPacer.LONGEST_STRETCH_ROWS);
  });

  it('keeps the number of stretches small for a long list', () => {
    // A million remote users, one in ten staged: not a hundred statements of 1,000 rows.
    const sizes = stretches(1000, 1000, 100);
    expect(sizes.length).toBeLessThan(60);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(95_000);
  });
});
