import { expect, test } from 'vitest';
import { TensorShapeError } from '../../../src/gpu/errors.js';
import { planChunks } from '../../../src/gpu/tensor.js';

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
