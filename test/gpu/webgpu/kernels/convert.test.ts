import { describe, expect, test } from 'vitest';
import { toF16, toF32 } from '../../../../src/webgpu/kernels/convert.js';
import { randomNormal } from '../../../helpers/rng.js';
import { f16Layouts } from '../../helpers/device.js';
import { roundToHalf } from '../../helpers/reference.js';

const sizes = [1, 7, 33, 77, 1030];

describe.each(f16Layouts.map((l) => [l.name, l] as const))('f32 ↔ f16 conversion (device with %s)', (_l, layout) => {
  test.each(sizes)('f32 → f16 rounds %i values to nearest even, as the host does', async (n) => {
    const rt = await layout.runtime();
    // Spans f16's normal and subnormal ranges (magnitudes 1e-6 to 1e4).
    const data = randomNormal(n, n).map((v, i) => v * 10 ** ((i % 11) - 6));
    const half = toF16(rt, rt.upload(data, [n]));
    expect(half.dtype).toBe('f16');
    expect(Array.from(await rt.read(half))).toEqual(Array.from(roundToHalf(data)));
  });

  test.each(sizes)('f16 → f32 of %i values is exact', async (n) => {
    const rt = await layout.runtime();
    const data = roundToHalf(randomNormal(n, 2 * n));
    const back = toF32(rt, rt.upload(data, [n], 'f16'));
    expect(back.dtype).toBe('f32');
    expect(Array.from(await rt.read(back))).toEqual(Array.from(data));
  });
});
