import { describe, expect, test } from 'vitest';
import { decodeHalf, encodeHalf, fromHalfBits, toHalfBits } from '../../../src/webgpu/half.js';

describe('binary16 conversion', () => {
  test.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65520, 0x7c00],
    [Infinity, 0x7c00],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [2 ** -26, 0x0000],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [3 * 2 ** -25, 0x0002],
  ])('%d → %i (round to nearest even, subnormals, overflow)', (value, bits) => {
    expect(toHalfBits(value)).toBe(bits);
  });

  test('NaN stays NaN', () => {
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
  });

  test('every finite half value survives half → float → half', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(toHalfBits(fromHalfBits(h))).toBe(h);
    }
  });

  test('array helpers convert element by element', () => {
    const data = Float32Array.from([0.1, -3.5, 1000]);
    const back = decodeHalf(encodeHalf(data));
    back.forEach((v, i) => expect(Math.abs(v - data[i]!)).toBeLessThanOrEqual(Math.abs(data[i]!) * 2 ** -11));
  });
});
