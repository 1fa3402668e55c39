import { describe, expect, it } from 'vitest';
import { dequantize, quantizeRows } from '../../../src/quant/quantize.js';
import { groupsPerRow, qmax, QUANT_BITS, unquantizableReason, type QuantBits } from '../../../src/quant/scheme.js';
import { fromHalfBits, toHalfBits } from '../../../src/webgpu/half.js';
import { randomNormal, randomUniform } from '../../helpers/rng.js';

/** The f16 scale of (row r, group g) as a number. */
function scaleOf(scales: Uint16Array, groups: number, r: number, g: number): number {
  return fromHalfBits(scales[r * groups + g]!);
}

describe('quantizeRows and dequantize round trip', () => {
  const shapes = [
    // K, groupSize, rows: whole groups, a short last group, per channel (group = K and > K).
    { k: 64, groupSize: 16, rows: 5 },
    { k: 40, groupSize: 32, rows: 7 },
    { k: 24, groupSize: 24, rows: 3 },
    { k: 16, groupSize: 128, rows: 4 },
  ];
  for (const bits of QUANT_BITS) {
    for (const { k, groupSize, rows } of shapes) {
      it(`int${bits}, K = ${k}, groups of ${groupSize}: every value within half its f16 scale, scale = f16(absmax / ${qmax(bits)})`, () => {
        const scheme = { bits, groupSize };
        const values = randomNormal(rows * k, 17 * k + groupSize + bits, 0.05);
        const q = quantizeRows(values, k, scheme);
        const groups = groupsPerRow(k, groupSize);
        expect(q.words.length).toBe((rows * k * bits) / 32);
        expect(q.scales.length).toBe(rows * groups);
        const back = dequantize(q, [rows, k], scheme);
        for (let r = 0; r < rows; r++) {
          for (let g = 0; g < groups; g++) {
            const start = g * groupSize;
            const end = Math.min(k, start + groupSize);
            let absmax = 0;
            for (let j = start; j < end; j++) absmax = Math.max(absmax, Math.abs(values[r * k + j]!));
            const scale = scaleOf(q.scales, groups, r, g);
            expect(q.scales[r * groups + g]).toBe(toHalfBits(absmax / qmax(bits)));
            for (let j = start; j < end; j++) {
              const i = r * k + j;
              expect(Math.abs(back[i]! - values[i]!)).toBeLessThanOrEqual(scale / 2);
              // What dequantize returns is an integer multiple of the scale, within ±qmax.
              const n = back[i]! / scale;
              expect(Number.isInteger(n) && Math.abs(n) <= qmax(bits)).toBe(true);
            }
          }
        }
      });
    }
  }

  it('values on an f16 scale grid come back exactly', () => {
    for (const bits of QUANT_BITS) {
      const [k, groupSize] = [32, 8];
      const max = qmax(bits);
      const ints = randomUniform(2 * k, bits).map((u) => Math.round(u * max));
      // Each group holds ±qmax once, so its scale is exactly the grid's step.
      for (let g = 0; g < (2 * k) / groupSize; g++) ints[g * groupSize] = g % 2 ? max : -max;
      const step = fromHalfBits(toHalfBits(0.0123));
      const values = ints.map((n) => n * step);
      const scheme = { bits, groupSize };
      // (+ 0: a q of 0 dequantizes to +0 where the input was −0.)
      expect(Array.from(dequantize(quantizeRows(values, k, scheme), [2, k], scheme))).toEqual(Array.from(values, (v) => v + 0));
    }
  });
});

describe('quantizeRows edge cases', () => {
  it('an all-zero group gets scale 0 and q 0 (byte 0, nibble 8); its neighbours are untouched', () => {
    for (const bits of QUANT_BITS) {
      const k = 16;
      const values = new Float32Array(k);
      values.fill(0.5, 8);
      const q = quantizeRows(values, k, { bits, groupSize: 8 });
      expect(Array.from(q.scales, fromHalfBits)).toEqual([0, fromHalfBits(toHalfBits(0.5 / qmax(bits)))]);
      const zeroWords = bits === 8 ? [0, 0] : [0x88888888];
      expect(Array.from(q.words.subarray(0, zeroWords.length))).toEqual(zeroWords);
      expect(Array.from(dequantize(q, [1, k], { bits, groupSize: 8 }).subarray(0, 8))).toEqual(new Array(8).fill(0));
    }
  });

  it('a short last group has its own scale, from its own values', () => {
    const k = 24;
    const values = new Float32Array(k).fill(1);
    values.fill(0.25, 16);
    const q = quantizeRows(values, k, { bits: 8, groupSize: 16 });
    expect(q.scales.length).toBe(2);
    expect(Array.from(q.scales, fromHalfBits)).toEqual([fromHalfBits(toHalfBits(1 / 127)), fromHalfBits(toHalfBits(0.25 / 127))]);
    const back = dequantize(q, [1, k], { bits: 8, groupSize: 16 });
    expect(back[23]).toBe(127 * fromHalfBits(toHalfBits(0.25 / 127)));
  });

  it('scales are rounded to f16 before the values are quantized with them', () => {
    // 1/127 is not an f16: the stored scale is its nearest f16, and q = round(w / that).
    const q = quantizeRows(Float32Array.from([1, -0.5, 0.25, 0.003]), 4, { bits: 8, groupSize: 8 });
    const scale = fromHalfBits(q.scales[0]!);
    expect(q.scales[0]).toBe(toHalfBits(1 / 127));
    expect(scale).not.toBe(1 / 127);
    const back = dequantize(q, [1, 4], { bits: 8, groupSize: 8 });
    expect(Array.from(back)).toEqual([1, -0.5, 0.25, 0.003].map((w) => Math.max(-127, Math.min(127, Math.round(w / scale))) * scale));
  });

  it('refuses values that are not whole rows', () => {
    expect(() => quantizeRows(new Float32Array(10), 4, { bits: 8, groupSize: 8 })).toThrow(RangeError);
  });
});

describe('packing (hand-computed words)', () => {
  it('int8: two\'s-complement bytes, value k of a row in byte k % 4 of word k / 4, little-endian', () => {
    // absmax 127 → scale 1 (an f16), so q = the values themselves.
    const q = quantizeRows(Float32Array.from([127, -127, 1, 0, -1, 2, -3, 127]), 8, { bits: 8, groupSize: 8 });
    expect(Array.from(q.scales)).toEqual([toHalfBits(1)]);
    expect(Array.from(q.words)).toEqual([0x0001817f, 0x7ffd02ff]);
  });

  it('int4: nibble q + 8, value k in bits 4·(k % 8) of word k / 8', () => {
    // Two rows of 8, absmax 7 → scale 1; the second row is the first negated, times 2 (scale 2).
    const row = [7, -7, 0, 1, -1, 3, -3, 2];
    const q = quantizeRows(Float32Array.from([...row, ...row.map((v) => -2 * v)]), 8, { bits: 4, groupSize: 8 });
    expect(Array.from(q.scales)).toEqual([toHalfBits(1), toHalfBits(2)]);
    // Nibbles low to high: 15 1 8 9 7 11 5 10, and for −q: 1 15 8 7 9 5 11 6.
    expect(Array.from(q.words)).toEqual([0xa5b7981f, 0x6b5978f1]);
  });

  it('rows start on whole words: the second row of int4 values begins at word K / 8', () => {
    const k = 16;
    const values = new Float32Array(2 * k);
    values[k] = 7; // row 1, value 0: scale 1, q 7 → nibble 15 at the bottom of word 2.
    const q = quantizeRows(values, k, { bits: 4 as QuantBits, groupSize: 16 });
    expect(Array.from(q.words)).toEqual([0x88888888, 0x88888888, 0x8888888f, 0x88888888]);
  });
});

describe('unquantizableReason', () => {
  it('needs whole words per row and group sizes that are positive multiples of 8', () => {
    expect(unquantizableReason([4, 12], { bits: 8, groupSize: 8 })).toBeNull();
    expect(unquantizableReason([4, 6], { bits: 8, groupSize: 8 })).toMatch(/whole 8-bit words/);
    expect(unquantizableReason([4, 12], { bits: 4, groupSize: 8 })).toMatch(/whole 4-bit words/);
    expect(unquantizableReason([4, 16], { bits: 4, groupSize: 12 })).toMatch(/group size 12/);
    expect(unquantizableReason([13, 12, 3, 3], { bits: 8, groupSize: 32 })).toBeNull();
  });
});
