import { expect, test } from 'vitest';
import { bucketSize } from '../../../src/webgpu/buffer-pool.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { randomNormal } from '../../helpers/rng.js';
import { gpuRuntime } from '../helpers/device.js';

test('released buffers are reused and live bytes return to their baseline', async () => {
  const rt = await gpuRuntime();
  const ops = new GpuOps(rt);
  await rt.sync();
  const base = rt.pool.stats;
  rt.resetPeak();
  const x = ops.upload(randomNormal(7 * 33, 1), [7, 33]);
  for (let i = 0; i < 5; i++) {
    const y = ops.unary(x, 'silu');
    const z = ops.add(y, x);
    ops.release(y);
    await ops.read(z);
    ops.release(z);
  }
  ops.release(x);
  const after = rt.pool.stats;
  expect(after.liveBytes).toBe(base.liveBytes);
  // x, y and z at once, all in the same bucket.
  expect(after.peakBytes - base.liveBytes).toBe(3 * bucketSize(7 * 33 * 4));
  // Five iterations, but only as many new buffers as were ever live at once.
  expect(after.allocations - base.allocations).toBeLessThanOrEqual(3);
});

test('a buffer released before submit is reused for a kernel output at once, but for an upload only after flush', async () => {
  const rt = await gpuRuntime();
  const ops = new GpuOps(rt);
  await rt.sync();
  const data = randomNormal(33, 2);
  const x = ops.upload(data, [33]);
  const y = ops.scale(x, 2);
  const yBuffer = y.chunks[0]!.buffer;
  ops.release(y);
  // y's buffer is pending: a kernel output may take it (the queue orders the writes) ...
  const z = ops.scale(x, 3);
  expect(z.chunks[0]!.buffer).toBe(yBuffer);
  ops.release(z);
  // ... but an upload's writeBuffer would land before the recorded kernels run, so it must not.
  const u = ops.upload(data, [33]);
  expect(u.chunks[0]!.buffer).not.toBe(yBuffer);
  rt.flush();
  const w = ops.upload(data, [33]);
  expect(w.chunks[0]!.buffer).toBe(yBuffer);
  expect(Array.from(await ops.read(w))).toEqual(Array.from(data));
  for (const t of [x, u, w]) ops.release(t);
});

test('the allocation hook sees every new buffer with its size', async () => {
  const rt = await gpuRuntime();
  const sizes: number[] = [];
  rt.pool.onAllocate((r) => sizes.push(r.requested));
  const t = rt.upload(new Float32Array(4097), [4097]);
  rt.pool.onAllocate(null);
  rt.release(t);
  expect(sizes).toEqual([4097 * 4]);
  expect(rt.pool.stats.largestAllocation).toBeGreaterThanOrEqual(4097 * 4);
});
