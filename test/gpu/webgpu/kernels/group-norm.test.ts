import { describe, expect, test } from 'vitest';
import type { TensorDType } from '../../../../src/webgpu/kernels/ops.js';
import { f16Layouts } from '../../helpers/device.js';
import { compareWithReference, type OpCase } from '../../helpers/reference.js';

// Inputs at 50 ± 1: x − mean carries f32's ulp(50) = 3.8e-6 over a std of 0.58, times |gamma| ≲ 3,
// so ~2e-5 is inherent to f32; per-thread sums of ≤ 160 values and a tree reduction add less.
// A one-pass E[x²] − mean² variance would be off by ~1e-3 here.
const TOL = 5e-5;

interface Shape {
  name: string;
  shape: number[];
  groups: number;
}

const shapes: Shape[] = [
  { name: 'one channel per group, 1×1', shape: [1, 4, 1, 1], groups: 4 },
  { name: 'odd spatial 7×33, batch 2', shape: [2, 6, 7, 33], groups: 3 },
  { name: '32 groups × 64×64', shape: [1, 64, 64, 64], groups: 32 },
  { name: 'SD 1.5 first block: 320 channels × 64×64, batch 2', shape: [2, 320, 64, 64], groups: 32 },
  { name: 'token layout [B, C, L]', shape: [2, 32, 77], groups: 8 },
];

function groupNormCase(s: Shape, silu: boolean, affine: TensorDType): OpCase {
  const C = s.shape[1]!;
  return {
    name: `${s.name}${silu ? ' + SiLU' : ''}, ${affine} affine`,
    // Offset inputs prove the centred variance pass (E[x²] − mean² would lose it in f32).
    inputs: [{ shape: s.shape, uniform: [49, 51] }, { shape: [C], dtype: affine }, { shape: [C], dtype: affine }],
    run: (ops, [x, g, b]) => ops.groupNorm(x!, g!, b!, { groups: s.groups, eps: 1e-6, silu }),
  };
}

const cases = shapes.flatMap((s) => [groupNormCase(s, false, 'f32'), groupNormCase(s, true, 'f32'), groupNormCase(s, true, 'f16')]);

describe.each(f16Layouts.map((l) => [l.name, l] as const))('groupNorm matches the reference (device with %s)', (_l, layout) => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const r = await compareWithReference(await layout.runtime(), c);
    expect(r.gpuShape).toEqual(r.refShape);
    expect(r.maxAbs).toBeLessThan(TOL);
  });
});
