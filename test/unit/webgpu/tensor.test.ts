import { expect, test } from 'vitest';
import { TensorShapeError } from '../../../src/webgpu/errors.js';
import { planChunks } from '../../../src/webgpu/tensor.js';

test('a tensor within one binding is one chunk', () => {
  expect(planChunks([4, 8], 'f32', 128)).toEqual([{ elementOffset: 0, elements: 32, byteSize: 128 }]);
});

test('a larger tensor splits along dim 0 into whole rows that each fit the binding', () => {
  const chunks = planChunks([10, 7], 'f32', 100);
  expect(chunks.map((c) => c.elements)).toEqual([21, 21, 21, 7]);
  expect(chunks.every((c) => c.byteSize <= 100 && c.elementOffset % 7 === 0)).toBe(true);
});

test('f16 chunks of odd rows start on even elements, so packed words are never shared', () => {
  const chunks = planChunks([9, 3], 'f16', 20);
  expect(chunks.every((c) => c.elementOffset % 2 === 0)).toBe(true);
  expect(chunks.reduce((n, c) => n + c.elements, 0)).toBe(27);
});

test('a single row over the limit is refused, naming the limit', () => {
  expect(() => planChunks([2, 100], 'f32', 256)).toThrow(TensorShapeError);
  expect(() => planChunks([2, 100], 'f32', 256)).toThrow(/maxStorageBufferBindingSize = 256/);
});

test('a full-size SD 2 text-encoder embedding table (f32) becomes two chunks under the default 128 MiB limit', () => {
  const chunks = planChunks([49408, 1024], 'f32', 134_217_728);
  expect(chunks).toHaveLength(2);
  expect(Math.max(...chunks.map((c) => c.byteSize))).toBeLessThanOrEqual(134_217_728);
});

test('a sample over the limit splits along dim 1 into power-of-two channel runs of that sample', () => {
  // The VAE decoder's [1, 256, 512, 512] f32 activation (256 MiB) under the default 128 MiB.
  const chunks = planChunks([1, 256, 512, 512], 'f32', 134_217_728);
  expect(chunks.map((c) => c.elements / (512 * 512))).toEqual([128, 128]);
  // 768²: 2.25 MiB planes fit 56 to a binding; runs of 32 keep GroupNorm groups of 4, 8, 16 whole.
  const at768 = planChunks([1, 256, 768, 768], 'f32', 134_217_728);
  expect(at768.map((c) => c.elements / (768 * 768))).toEqual([32, 32, 32, 32, 32, 32, 32, 32]);
  expect(at768.every((c) => c.byteSize <= 134_217_728)).toBe(true);
});

test('channel runs never straddle two samples, and cover the tensor in order', () => {
  const chunks = planChunks([2, 6, 4, 4], 'f32', 4 * 16 * 4);
  expect(chunks.map((c) => [c.elementOffset / 16, c.elements / 16])).toEqual([
    [0, 4],
    [4, 2],
    [6, 4],
    [10, 2],
  ]);
});

test('a single plane over the limit is refused, naming the plane and the limit', () => {
  expect(() => planChunks([1, 2, 100, 100], 'f32', 1024)).toThrow(/one plane along dim 1 is 40000 bytes, more than maxStorageBufferBindingSize = 1024/);
});
