import { describe, expect, it } from 'vitest';
import { PageEnds } from '../../src/api/page-ends';

describe('PageEnds: where a page asked for by number can start', () => {
  it('when nothing was served yet, then there is no seek', () => {
    expect(new PageEnds().seekFor(1000, 5)).toBeUndefined();
  });

  it('when earlier pages were served, then the nearest one before the page is used, with the pages between skipped', () => {
    const ends = new PageEnds();
    ends.remember('7', 1000, 1, 1500);
    ends.remember('7', 1000, 3, 4200);
    expect(ends.seekFor(1000, 4)).toEqual({ generation: '7', afterId: 4200, skip: 0 });
    expect(ends.seekFor(1000, 6)).toEqual({ generation: '7', afterId: 4200, skip: 2000 });
    expect(ends.seekFor(1000, 3)).toEqual({ generation: '7', afterId: 1500, skip: 1000 });
    // Ends are per page size: page 3 of 500 is not page 3 of 1000.
    expect(ends.seekFor(500, 4)).toBeUndefined();
  });

  it('when the generation changes, then the ends of the old one are forgotten', () => {
    const ends = new PageEnds();
    ends.remember('7', 100, 1, 150);
    ends.remember('8', 100, 2, 260);
    expect(ends.seekFor(100, 2)).toBeUndefined();
    expect(ends.seekFor(100, 3)).toEqual({ generation: '8', afterId: 260, skip: 0 });
  });

  it('when the nearest end is further back than a client reads ahead, then the offset is left to count', () => {
    const ends = new PageEnds();
    ends.remember('1', 10, 1, 10);
    expect(ends.seekFor(10, 65)).toEqual({ generation: '1', afterId: 10, skip: 630 });
    expect(ends.seekFor(10, 66)).toBeUndefined();
  });

  it('when a location has no users (no generation), then nothing is remembered', () => {
    const ends = new PageEnds();
    ends.remember(null, 10, 1, null);
    expect(ends.seekFor(10, 2)).toBeUndefined();
  });
});
