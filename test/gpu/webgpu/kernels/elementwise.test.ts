import { describe, expect, test } from 'vitest';
import type { Activation } from '../../../../src/webgpu/kernels/ops.js';
import { f16Layouts } from '../../helpers/device.js';
import { compareWithReference, type OpCase } from '../../helpers/reference.js';

// One f32 rounding per op on inputs of magnitude ≲ 5 (activations: exp/erf in f32, erf to 1.5e-7): 2e-6 absolute is a few ulps.
const TOL = 2e-6;

const binaryCases: [string, number[], number[]][] = [
  ['same shape, 1 element', [1], [1]],
  ['same shape, odd size', [7, 33], [7, 33]],
  ['prefix [B, C] onto [B, C, H, W]', [2, 7, 5, 3], [2, 7]],
  ['suffix [C] onto [B, L, C]', [2, 77, 33], [33]],
  ['suffix [L, C] onto [B, L, C]', [3, 7, 5], [7, 5]],
];

const activations: (Activation | 'tanh')[] = ['none', 'silu', 'gelu', 'quick_gelu', 'relu', 'tanh'];

const cases: OpCase[] = [
  ...binaryCases.flatMap(([name, a, b]): OpCase[] => [
    { name: `add ${name}`, inputs: [{ shape: a }, { shape: b }], run: (ops, [x, y]) => ops.add(x!, y!) },
    { name: `mul ${name}`, inputs: [{ shape: a }, { shape: b }], run: (ops, [x, y]) => ops.mul(x!, y!) },
  ]),
  { name: 'scale with shift [77]', inputs: [{ shape: [77] }], run: (ops, [x]) => ops.scale(x!, 0.18215, -0.5) },
  { name: 'scale without shift [2, 33]', inputs: [{ shape: [2, 33] }], run: (ops, [x]) => ops.scale(x!, -3) },
  ...activations.map(
    (fn): OpCase => ({ name: `unary ${fn} [3, 77]`, inputs: [{ shape: [3, 77], normal: 3 }], run: (ops, [x]) => ops.unary(x!, fn) }),
  ),
  { name: 'geglu [2, 7, 66]', inputs: [{ shape: [2, 7, 66], normal: 2 }], run: (ops, [x]) => ops.geglu(x!) },
  { name: 'geglu [1, 2]', inputs: [{ shape: [1, 2] }], run: (ops, [x]) => ops.geglu(x!) },
];

// f16 storage is read into f32 exactly, so an f16 input (already rounded for the reference) keeps the f32 tolerance.
const f16Cases: OpCase[] = [
  { name: 'add f16 bias [33] onto [2, 7, 33]', inputs: [{ shape: [2, 7, 33] }, { shape: [33], dtype: 'f16' }], run: (ops, [x, y]) => ops.add(x!, y!) },
  { name: 'mul f16 by f16, odd size [77]', inputs: [{ shape: [77], dtype: 'f16' }, { shape: [77], dtype: 'f16' }], run: (ops, [x, y]) => ops.mul(x!, y!) },
  { name: 'silu of f16 [7]', inputs: [{ shape: [7], dtype: 'f16' }], run: (ops, [x]) => ops.unary(x!, 'silu') },
];

describe('elementwise kernels match the float64 reference', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const rt = await f16Layouts[0].runtime();
    const r = await compareWithReference(rt, c);
    expect(r.gpuShape).toEqual(r.refShape);
    expect(r.maxAbs).toBeLessThan(TOL);
  });

  describe.each(f16Layouts.map((l) => [l.name, l] as const))('with %s storage', (_layout, layout) => {
    test.each(f16Cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const r = await compareWithReference(await layout.runtime(), c);
      expect(r.gpuShape).toEqual(r.refShape);
      expect(r.maxAbs).toBeLessThan(TOL);
    });
  });
});
