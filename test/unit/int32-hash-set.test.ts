import { describe, expect, it } from 'vitest';
import { Int32HashSet } from '../../src/sync/preview/hash-set';

describe('Int32HashSet', () => {
  it('when a hash is added again, even after the table has grown many times, then add says so', () => {
    const set = new Int32HashSet();
    const values = Array.from({ length: 50_000 }, (_, i) => Math.imul(i + 1, 0x9e3779b1));
    expect(values.every((v) => set.add(v))).toBe(true);
    expect(values.some((v) => set.add(v))).toBe(false);
    expect(set.add(Math.imul(50_001, 0x9e3779b1))).toBe(true);
  });

  it('when hashes are 0, negative or over 31 bits, then each is kept as a 32-bit value', () => {
    const set = new Int32HashSet();
    expect(set.add(0)).toBe(true);
    expect(set.add(0)).toBe(false);
    expect(set.add(-1)).toBe(true);
    expect(set.add(0xffffffff)).toBe(false);
    expect(set.add(-2147483648)).toBe(true);
    expect(set.add(0x80000000)).toBe(false);
  });
});
