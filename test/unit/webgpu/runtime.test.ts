import { expect, test } from 'vitest';
import { bucketSize } from '../../../src/webgpu/buffer-pool.js';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';

test('plan mode runs bindings with no device: dispatches and bytes are counted, no buffer exists', async () => {
  const rt = GpuRuntime.plan();
  const ops = new GpuOps(rt);
  const sizes: number[] = [];
  rt.pool.onAllocate((r) => sizes.push(r.requested));
  // One SD 1.5 ResNet half-block at 64×64 with CFG batch 2, f16 affine weights.
  const x = ops.upload(new Float32Array(2 * 320 * 64 * 64), [2, 320, 64, 64]);
  const gamma = ops.upload(new Float32Array(320), [320], 'f16');
  const beta = ops.upload(new Float32Array(320), [320], 'f16');
  const temb = ops.upload(new Float32Array(2 * 320), [2, 320]);
  const h = ops.groupNorm(x, gamma, beta, { groups: 32, eps: 1e-5, silu: true });
  const y = ops.add(h, temb);
  const up = ops.upsampleNearest2x(y);
  expect(rt.device).toBeNull();
  expect(up.chunks[0]!.buffer).toBeNull();
  expect(rt.stats.dispatches).toBe(3);
  const act = 2 * 320 * 64 * 64 * 4;
  expect(rt.stats.largestBindingBytes).toBe(4 * act);
  expect(rt.pool.stats.liveBytes).toBe(act * 3 + 4 * act + bucketSize(2 * 320 * 4) + 2 * bucketSize(320 * 2));
  expect(sizes.filter((s) => s === 4096 * 4096 * 4)).toEqual([]);
  const zeros = await ops.read(up);
  expect(zeros.length).toBe(up.size);
  expect(zeros.every((v) => v === 0)).toBe(true);
  for (const t of [x, gamma, beta, temb, h, y, up]) ops.release(t);
  expect(rt.pool.stats.liveBytes).toBe(0);
});

test('plan mode applies the same limits: a tensor over the default binding size is chunked, chunk-aware kernels split their dispatches and a whole-tensor kernel refuses it', () => {
  const rt = GpuRuntime.plan();
  const ops = new GpuOps(rt);
  const big = ops.upload(new Float32Array(1), [1], 'f32');
  ops.release(big);
  const table = rt.empty([49408, 1024]);
  expect(table.chunks).toHaveLength(2);
  expect(() => ops.softmax(table)).toThrow(/2 chunks .* maxStorageBufferBindingSize = 134217728/);
  // Elementwise ops and gathers run chunk by chunk: one dispatch per chunk.
  expect(ops.scale(table, 2).chunks).toHaveLength(2);
  const emb = ops.embedding(Int32Array.from([0, 49407]), [1, 2], table);
  expect(emb.shape).toEqual([1, 2, 1024]);
  expect(rt.stats.dispatches).toBe(4);
});

test('plan mode under a raised limit plans the same op as one binding', () => {
  const rt = GpuRuntime.plan({ limits: { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30 } });
  const table = rt.empty([49408, 1024]);
  expect(table.chunks).toHaveLength(1);
});
