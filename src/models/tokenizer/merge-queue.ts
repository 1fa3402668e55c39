/**
 * The pending merges of one word, lowest rank first and, within a rank, leftmost first: a binary
 * min-heap of `rank * length + position` keys in a growable `Float64Array`. The packed key keeps
 * the heap free of objects, so a word of a million symbols costs a few typed arrays, not a
 * million allocations. Exact while `rank * length` stays below 2^53 (ranks and lengths below
 * 2^26 each).
 */
export class MergeQueue {
  private keys: Float64Array;
  private count = 0;

  /** @param length the number of symbols in the word: positions are below it. */
  constructor(private readonly length: number) {
    this.keys = new Float64Array(Math.max(16, length));
  }

  get size(): number {
    return this.count;
  }

  /** The rank of the lowest pending merge; only when `size > 0`. */
  peekRank(): number {
    return Math.floor(this.keys[0]! / this.length);
  }

  push(rank: number, position: number): void {
    if (this.count === this.keys.length) {
      const grown = new Float64Array(this.keys.length * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    const keys = this.keys;
    const key = rank * this.length + position;
    let i = this.count++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      i = parent;
    }
    keys[i] = key;
  }

  /** Removes the lowest pending merge and returns its position; only when `size > 0`. */
  popPosition(): number {
    const keys = this.keys;
    const top = keys[0]!;
    const last = keys[--this.count]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.count) break;
      if (child + 1 < this.count && keys[child + 1]! < keys[child]!) child++;
      if (keys[child]! >= last) break;
      keys[i] = keys[child]!;
      i = child;
    }
    keys[i] = last;
    return top % this.length;
  }
}
