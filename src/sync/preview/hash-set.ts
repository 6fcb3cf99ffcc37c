/**
 * A set of 32-bit hashes with open addressing in one Int32Array: 4 to 16 bytes a member where a Set
 * of numbers takes several times that, and no allocation per member.
 */
export class Int32HashSet {
  private slots = new Int32Array(1 << 12);
  private size = 0;

  /** Adds the hash; false when it was there already. */
  add(hash: number): boolean {
    // 0 marks a free slot, so the hash 0 is stored as 1 (one more possible collision, no lost member).
    const value = hash === 0 ? 1 : hash | 0;
    if (this.size * 2 >= this.slots.length) this.grow();
    const mask = this.slots.length - 1;
    for (let i = value & mask; ; i = (i + 1) & mask) {
      const slot = this.slots[i]!;
      if (slot === 0) {
        this.slots[i] = value;
        this.size++;
        return true;
      }
      if (slot === value) return false;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.size = 0;
    for (const value of old) if (value !== 0) this.add(value);
  }
}
