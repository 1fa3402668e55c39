import { expect, test } from 'vitest';
import { gpuRuntime } from '../../helpers/device.js';
import { compareWithReference, type OpCase } from '../../helpers/reference.js';

// exp and one division per element in f32 after an exact max: a few ulps of values ≤ 1.
const TOL = 1e-6;

const shapes: [string, number[], number][] = [
  ['one element', [1], 1],
  ['odd row length', [7, 33], 1],
  ['CLIP-like rows [2, 77, 77]', [2, 77, 77], 3],
  ['rows longer than the workgroup [3, 1030]', [3, 1030], 5],
];

const cases: OpCase[] = shapes.map(([name, shape, std]) => ({
  name,
  inputs: [{ shape, normal: std }],
  run: (ops, [x]) => ops.softmax(x!),
}));

test.each(cases.map((c) => [c.name, c] as const))('softmax over the last dim matches the reference: %s', async (_n, c) => {
  const r = await compareWithReference(await gpuRuntime(), c);
  expect(r.gpuShape).toEqual(r.refShape);
  expect(r.maxAbs).toBeLessThan(TOL);
});
