import { describe, expect, it } from 'vitest';
import { MergeQueue } from '../../../../src/models/tokenizer/merge-queue.js';

describe('MergeQueue', () => {
  it('pops positions by rank, then position, through growth past its first capacity', () => {
    let state = 5;
    const below = (n: number): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % n;
    };
    const length = 50;
    const queue = new MergeQueue(length);
    const pending: [number, number][] = [];
    for (let i = 0; i < 1000; i++) {
      const entry: [number, number] = [below(49_000), below(length)];
      queue.push(...entry);
      pending.push(entry);
      // Interleave pops with pushes, as the merge loop does.
      if (below(3) === 0) {
        pending.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        const [rank, position] = pending.shift()!;
        expect(queue.peekRank()).toBe(rank);
        expect(queue.popPosition()).toBe(position);
      }
    }
    pending.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(queue.size).toBe(pending.length);
    for (const [rank, position] of pending) {
      expect(queue.peekRank()).toBe(rank);
      expect(queue.popPosition()).toBe(position);
    }
    expect(queue.size).toBe(0);
  });
});
