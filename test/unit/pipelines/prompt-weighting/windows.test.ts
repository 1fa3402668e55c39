import { describe, expect, it } from 'vitest';
import { applyMeanRestoringWeights } from '../../../../src/pipelines/prompt-weighting/mean-restoring.js';
import { promptWindows, windowCount } from '../../../../src/pipelines/prompt-weighting/windows.js';

const v1 = { bosTokenId: 49406, eosTokenId: 49407, padTokenId: 49407, modelMaxLength: 77 };
// SD 2.x: pad is "!" (0), not EOS.
const v2 = { ...v1, padTokenId: 0 };
const tokens = (n: number) => ({ ids: Array.from({ length: n }, (_, i) => 1000 + i), weights: Array.from({ length: n }, (_, i) => (i === n - 1 ? 1.5 : 1)) });

describe('windowCount', () => {
  it('takes the longest row, at least 1 and at most 3 windows of 75', () => {
    expect([[0], [1], [75], [76], [150], [151], [225], [400]].map((n) => windowCount(n, v1))).toEqual([1, 1, 1, 2, 2, 3, 3, 3]);
    expect(windowCount([4, 160], v1)).toBe(3);
  });
});

describe('promptWindows', () => {
  it('cuts [BOS] + tokens + pads + [EOS] into windows of 77 with BOS and EOS each (pad = EOS)', () => {
    const w = promptWindows(tokens(80), 2, v1);
    expect(w.ids.length).toBe(154);
    expect(Array.from(w.ids.subarray(0, 77))).toEqual([49406, ...tokens(80).ids.slice(0, 75), 49407]);
    expect(Array.from(w.ids.subarray(77))).toEqual([49406, ...tokens(80).ids.slice(75), ...Array<number>(70).fill(49407), 49407]);
    // The 80th token's weight lands at window 1, position 5; every other place is 1.
    expect(Array.from(w.weights).flatMap((x, i) => (x === 1 ? [] : [[i, x]]))).toEqual([[77 + 5, 1.5]]);
  });

  it('puts padding before each window\'s EOS where pad is not EOS (SD 2.x), as lpw does', () => {
    const padded = promptWindows(tokens(3), 2, v2);
    expect(Array.from(padded.ids.subarray(0, 6))).toEqual([49406, 1000, 1001, 1002, 0, 0]);
    expect(padded.ids[76]).toBe(49407);
    expect(Array.from(padded.ids.subarray(77))).toEqual([49406, ...Array<number>(75).fill(0), 49407]);
    const one = promptWindows(tokens(3), 1, v2);
    expect(Array.from(one.ids)).toEqual(Array.from(padded.ids.subarray(0, 77)));
  });
});

describe('applyMeanRestoringWeights', () => {
  it('restores the mean of each weighted row, in float32, and leaves rows of weight 1 untouched', () => {
    const embeds = Float32Array.from([1, 2, 3, 4, 0.5, 0.25, 5, 6, 7, 8, 9, 10]);
    const weights = Float32Array.from([2, 1, 1, 1, 1, 1]);
    const before = embeds.slice();
    const factors = applyMeanRestoringWeights(embeds, weights, 2);
    const mean = (x: Float32Array) => x.reduce((a, b) => a + b, 0) / x.length;
    expect(mean(embeds.subarray(0, 6))).toBeCloseTo(mean(before.subarray(0, 6)), 6);
    const m0 = Math.fround(10.75 / 6);
    const m1 = Math.fround(13.75 / 6);
    expect(factors).toEqual([Math.fround(m0 / m1), 1]);
    expect(embeds[0]).toBe(Math.fround(2 * factors[0]!));
    expect(embeds[2]).toBe(Math.fround(3 * factors[0]!));
    expect(embeds.subarray(6)).toEqual(before.subarray(6));
  });
});
