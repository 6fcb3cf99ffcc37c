import v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HEAP_GROWING_PERCENT, withLimitedHeapGrowth } from '../../src/platform/heap-growth';

afterEach(() => {
  vi.restoreAllMocks();
});

const LIMIT = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
const V8_OWN = '--heap-growing-percent=0';

describe('withLimitedHeapGrowth', () => {
  it('limits the heap’s growth while the work runs and gives V8 its own factor back after', async () => {
    const flags = vi.spyOn(v8, 'setFlagsFromString');
    const seenDuring: string[][] = [];
    const result = await withLimitedHeapGrowth(async () => {
      seenDuring.push(flags.mock.calls.map(([flag]) => flag));
      return 42;
    });
    expect(result).toBe(42);
    expect(seenDuring).toEqual([[LIMIT]]);
    expect(flags.mock.calls.map(([flag]) => flag)).toEqual([LIMIT, V8_OWN]);
  });

  it('when two works overlap, then the limit holds until the last one ends', async () => {
    const flags = vi.spyOn(v8, 'setFlagsFromString');
    let releaseFirst!: () => void;
    const first = withLimitedHeapGrowth(() => new Promise<void>((resolve) => (releaseFirst = resolve)));
    await withLimitedHeapGrowth(async () => undefined);
    expect(flags.mock.calls.map(([flag]) => flag)).toEqual([LIMIT]);
    releaseFirst();
    await first;
    expect(flags.mock.calls.map(([flag]) => flag)).toEqual([LIMIT, V8_OWN]);
  });

  it('when the work fails, then the limit ends too and the error reaches the caller', async () => {
    const flags = vi.spyOn(v8, 'setFlagsFromString');
    await expect(withLimitedHeapGrowth(() => Promise.reject(new Error('remote down')))).rejects.toThrow('remote down');
    expect(flags.mock.calls.map(([flag]) => flag)).toEqual([LIMIT, V8_OWN]);
  });
});
