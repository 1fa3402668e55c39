import { describe, expect, test } from 'vitest';
import { GpuRuntime } from '../../../../src/webgpu/runtime.js';
import { GpuOps } from '../../../../src/webgpu/kernels/gpu-ops.js';
import { CpuOps } from '../../../helpers/cpu-ops.js';
import { randomNormal } from '../../../helpers/rng.js';
import { f16Layouts, gpuContext, gpuRuntime } from '../../helpers/device.js';
import { compareWithReference, roundToHalf, type OpCase } from '../../helpers/reference.js';

// Pure data movement: every output is one input value, so the result must be exact.
const EXACT = 0;

const cases: OpCase[] = [
  { name: 'upsampleNearest2x 1×1', inputs: [{ shape: [1, 1, 1, 1] }], run: (ops, [x]) => ops.upsampleNearest2x(x!) },
  { name: 'upsampleNearest2x odd 7×5, batch 2', inputs: [{ shape: [2, 3, 7, 5] }], run: (ops, [x]) => ops.upsampleNearest2x(x!) },
  { name: "upsampleNearest2x to a skip's size 9×5 → 17×9", inputs: [{ shape: [1, 2, 9, 5] }], run: (ops, [x]) => ops.upsampleNearest2x(x!, [17, 9]) },
  { name: 'upsampleNearest2x to any size 3×5 → 7×4, batch 2', inputs: [{ shape: [2, 3, 3, 5] }], run: (ops, [x]) => ops.upsampleNearest2x(x!, [7, 4]) },
  { name: 'concatChannels [2, 3, 7, 5] ++ [2, 4, 7, 5]', inputs: [{ shape: [2, 3, 7, 5] }, { shape: [2, 4, 7, 5] }], run: (ops, [a, b]) => ops.concatChannels(a!, b!) },
  { name: 'concatChannels [1, 1] ++ [1, 33]', inputs: [{ shape: [1, 1] }, { shape: [1, 33] }], run: (ops, [a, b]) => ops.concatChannels(a!, b!) },
  { name: 'transpose [7, 33]', inputs: [{ shape: [7, 33] }], run: (ops, [x]) => ops.transpose(x!) },
  { name: 'transpose [2, 77, 5]', inputs: [{ shape: [2, 77, 5] }], run: (ops, [x]) => ops.transpose(x!) },
  { name: 'transpose [1, 1]', inputs: [{ shape: [1, 1] }], run: (ops, [x]) => ops.transpose(x!) },
  { name: 'sliceBatch [1, 3) of [4, 7, 5]', inputs: [{ shape: [4, 7, 5] }], run: (ops, [x]) => ops.sliceBatch(x!, 1, 3) },
  { name: 'sliceBatch [0, 1) of [2, 33]', inputs: [{ shape: [2, 33] }], run: (ops, [x]) => ops.sliceBatch(x!, 0, 1) },
  { name: 'gatherRows [2, 77, 33] at 76 and 0', inputs: [{ shape: [2, 77, 33] }], run: (ops, [x]) => ops.gatherRows(x!, [76, 0]) },
  { name: 'embedding of [2, 7] ids in a [33, 5] table', inputs: [{ shape: [33, 5] }], run: (ops, [t]) => ops.embedding(Int32Array.from([0, 32, 7, 7, 1, 2, 3, 31, 30, 4, 5, 6, 8, 9]), [2, 7], t!) },
];

// f16 inputs: the odd sizes start rows on odd elements, i.e. in the high half of a packed word.
const f16Cases: OpCase[] = [
  { name: 'upsampleNearest2x f16 [1, 3, 3, 3]', inputs: [{ shape: [1, 3, 3, 3], dtype: 'f16' }], run: (ops, [x]) => ops.upsampleNearest2x(x!) },
  { name: 'concatChannels f16 [2, 1, 3] ++ f32 [2, 2, 3]', inputs: [{ shape: [2, 1, 3], dtype: 'f16' }, { shape: [2, 2, 3] }], run: (ops, [a, b]) => ops.concatChannels(a!, b!) },
  { name: 'transpose f16 [3, 7]', inputs: [{ shape: [3, 7], dtype: 'f16' }], run: (ops, [x]) => ops.transpose(x!) },
  { name: 'sliceBatch [1, 2) of f16 [3, 7]', inputs: [{ shape: [3, 7], dtype: 'f16' }], run: (ops, [x]) => ops.sliceBatch(x!, 1, 2) },
  { name: 'embedding in an f16 [9, 7] table', inputs: [{ shape: [9, 7], dtype: 'f16' }], run: (ops, [t]) => ops.embedding(Int32Array.from([8, 1, 0, 3]), [1, 4], t!) },
];

describe('layout kernels reproduce the reference exactly', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const r = await compareWithReference(await gpuRuntime(), c);
    expect(r.gpuShape).toEqual(r.refShape);
    expect(r.maxAbs).toBe(EXACT);
  });

  describe.each(f16Layouts.map((l) => [l.name, l] as const))('with %s storage', (_l, layout) => {
    test.each(f16Cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      const r = await compareWithReference(await layout.runtime(), c);
      expect(r.gpuShape).toEqual(r.refShape);
      expect(r.maxAbs).toBe(EXACT);
    });
  });
});

describe('embedding over a table split into chunks', () => {
  test.each([
    ['f32', 'f32'],
    ['f16', 'f16'],
  ] as const)('gathers rows from every chunk of a %s table larger than one binding', async (_n, dtype) => {
    const ctx = await gpuContext();
    // The same device, told its bindings are 256 bytes: a [20, 7] table becomes several chunks.
    const limits = { ...ctx.capabilities.limits, maxStorageBufferBindingSize: 256 };
    const rt = new GpuRuntime(ctx.device, { ...ctx.capabilities, limits });
    const data = dtype === 'f16' ? roundToHalf(randomNormal(140, 5)) : randomNormal(140, 5);
    const ids = Int32Array.from([19, 0, 9, 10, 18, 1]);
    const gpu = new GpuOps(rt);
    const table = gpu.upload(data, [20, 7], dtype);
    expect(table.chunks.length).toBeGreaterThan(1);
    const got = await gpu.read(gpu.embedding(ids, [2, 3], table));
    const cpu = new CpuOps();
    const want = cpu.embedding(ids, [2, 3], cpu.upload(data, [20, 7]));
    expect(Array.from(got)).toEqual(Array.from(want.data));
  });
});

test('embedding rejects an id outside the table, naming it', async () => {
  const rt = await gpuRuntime();
  const table = rt.upload(new Float32Array(6), [3, 2]);
  expect(() => new GpuOps(rt).embedding(Int32Array.from([3]), [1, 1], table)).toThrow(/row 3 outside \[0, 3\)/);
});
