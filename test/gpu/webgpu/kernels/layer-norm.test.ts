import { describe, expect, test } from 'vitest';
import { f16Layouts } from '../../helpers/device.js';
import { compareWithReference, type OpCase } from '../../helpers/reference.js';

// Inputs sit at 100 ± 1, so x − mean carries f32's ulp(100) = 7.6e-6 over a std of 0.58, times |gamma| ≲ 4:
// ~5e-5 is inherent to f32. A one-pass E[x²] − mean² variance would be off by ~1e-3 here.
const TOL = 1e-4;

const shapes: [string, number[]][] = [
  ['one column', [3, 1]],
  ['odd width [7, 33]', [7, 33]],
  ['CLIP-like [2, 77, 64]', [2, 77, 64]],
  ['rows longer than the workgroup [2, 1030]', [2, 1030]],
];

function layerNormCase(name: string, shape: number[], affine: 'f32' | 'f16'): OpCase {
  const C = shape[shape.length - 1]!;
  return {
    name: `${name}, ${affine} affine`,
    // A large mean on x proves the variance pass does not cancel.
    inputs: [{ shape, uniform: [99, 101] }, { shape: [C], dtype: affine }, { shape: [C], dtype: affine }],
    run: (ops, [x, g, b]) => ops.layerNorm(x!, g!, b!, 1e-5),
  };
}

describe.each(f16Layouts.map((l) => [l.name, l] as const))('layerNorm matches the reference (device with %s)', (_l, layout) => {
  test.each(shapes.flatMap(([n, s]) => [layerNormCase(n, s, 'f32'), layerNormCase(n, s, 'f16')]).map((c) => [c.name, c] as const))(
    '%s',
    async (_n, c) => {
      const r = await compareWithReference(await layout.runtime(), c);
      expect(r.gpuShape).toEqual(r.refShape);
      expect(r.maxAbs).toBeLessThan(TOL);
    },
  );
});
