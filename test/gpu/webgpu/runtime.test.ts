import { describe, expect, test } from 'vitest';
import { GpuValidationError, TensorReleasedError } from '../../../src/webgpu/errors.js';
import { defineKernel } from '../../../src/webgpu/kernel.js';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { randomNormal } from '../../helpers/rng.js';
import { f16Layouts, gpuContext, gpuRuntime } from '../helpers/device.js';
import { roundToHalf } from '../helpers/reference.js';

/** Writes each element's index: a one-thread-per-workgroup kernel makes a huge 1-D launch cheap. */
const IOTA = defineKernel({
  family: 'runtime-test',
  entryPoint: 'iota',
  source: `
struct U { n: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1)
fn iota(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_workgroup_index(wid, nwg);
  if (i < u.n) { out[i] = f32(i); }
}`,
  storage: ['read_write'],
});

async function iota(rt: GpuRuntime, n: number): Promise<Float32Array> {
  const out = rt.empty([n]);
  rt.dispatch(IOTA, { bindings: [out], uniforms: { n }, workgroups: n });
  return rt.read(out);
}

describe('dispatch folding', () => {
  test('a 1-D launch of more than 65535 workgroups is folded into a grid and reaches every index once', async () => {
    const n = 70_003;
    const got = await iota(await gpuRuntime(), n);
    expect(got.every((v, i) => v === i)).toBe(true);
  });

  test('a launch beyond max² workgroups folds into three dimensions', async () => {
    const ctx = await gpuContext();
    // Pretend the per-dimension limit is 7 so 300 workgroups need a 7×7×7 grid.
    const rt = new GpuRuntime(ctx.device, { ...ctx.capabilities, limits: { ...ctx.capabilities.limits, maxComputeWorkgroupsPerDimension: 7 } });
    const got = await iota(rt, 300);
    expect(got.every((v, i) => v === i)).toBe(true);
  });
});

test('a second run of the same ops compiles no pipeline; a new specialisation compiles one', async () => {
  const rt = await gpuRuntime();
  const ops = new GpuOps(rt);
  const x = ops.upload(randomNormal(33, 1), [33]);
  const run = () => ops.unary(ops.add(x, x), 'silu');
  await ops.read(run());
  const compiled = rt.stats.pipelinesCompiled;
  await ops.read(run());
  expect(rt.stats.pipelinesCompiled).toBe(compiled);
  await ops.read(ops.unary(x, 'relu'));
  expect(rt.stats.pipelinesCompiled).toBe(compiled + 1);
});

test('ops record into one encoder: nothing is submitted until read or flush', async () => {
  const rt = await gpuRuntime();
  const ops = new GpuOps(rt);
  const x = ops.upload(randomNormal(7, 2), [7]);
  const submits = rt.stats.submits;
  const y = ops.scale(ops.scale(ops.scale(x, 2), 3), 4);
  expect(rt.stats.submits).toBe(submits);
  const got = await ops.read(y);
  expect(rt.stats.submits).toBe(submits + 1);
  const data = randomNormal(7, 2);
  got.forEach((v, i) => expect(v).toBeCloseTo(data[i]! * 24, 5));
});

describe.each(f16Layouts.map((l) => [l.name, l] as const))('f16 storage on a device with %s', (_l, layout) => {
  test('an f16 tensor holds half-precision values in half the bytes', async () => {
    const rt = await layout.runtime();
    const data = randomNormal(77, 3);
    const f32 = rt.upload(data, [7, 11]);
    const f16 = rt.upload(data, [7, 11], 'f16');
    expect(f16.chunks[0]!.byteSize).toBe(Math.ceil((77 * 2) / 4) * 4);
    expect(f32.chunks[0]!.byteSize).toBe(77 * 4);
    expect(Array.from(await rt.read(f16))).toEqual(Array.from(roundToHalf(data)));
  });

  test('kernels specialise on the layout actually in use', async () => {
    const rt = await layout.runtime();
    const f16 = rt.upload(new Float32Array(3), [3], 'f16');
    const defines = rt.storageDefines('X', f16);
    expect(rt.shaderF16).toBe(layout.name === 'shader-f16');
    expect(defines).toEqual({ X_F16: rt.shaderF16, X_F16_PACKED: !rt.shaderF16 });
  });
});

test('a tensor larger than one binding is stored in chunks and reads back whole', async () => {
  const ctx = await gpuContext();
  const rt = new GpuRuntime(ctx.device, { ...ctx.capabilities, limits: { ...ctx.capabilities.limits, maxStorageBufferBindingSize: 256 } });
  const data = randomNormal(33 * 7, 4);
  const t = rt.upload(data, [33, 7]);
  expect(t.chunks.map((c) => c.elements)).toEqual([63, 63, 63, 42]);
  expect(Array.from(await rt.read(t))).toEqual(Array.from(data));
  // Elementwise ops run chunk by chunk; a kernel that binds whole tensors refuses them.
  const ops = new GpuOps(rt);
  expect(Array.from(await rt.read(ops.scale(t, 2)))).toEqual(Array.from(data, (v) => Math.fround(v * 2)));
  expect(() => ops.softmax(t)).toThrow(/4 chunks/);
});

test('WebGPU errors in recorded commands surface as GpuValidationError on sync', async () => {
  const rt = await gpuRuntime();
  const broken = defineKernel({ family: 'runtime-test', entryPoint: 'broken', source: '@compute @workgroup_size(1) fn broken() { let x: u32 = 1.5; }', storage: [] });
  rt.dispatch(broken, { bindings: [], workgroups: 1 });
  await expect(rt.sync()).rejects.toThrow(GpuValidationError);
  await expect(rt.sync()).resolves.toBeUndefined();
});

test('a reshaped view shares storage, survives release of the original, and use after release throws', async () => {
  const rt = await gpuRuntime();
  const data = randomNormal(12, 5);
  const x = rt.upload(data, [3, 4]);
  const live = rt.pool.stats.liveBytes;
  const v = rt.reshape(x, [2, 6]);
  expect(rt.pool.stats.liveBytes).toBe(live);
  rt.release(x);
  expect(rt.pool.stats.liveBytes).toBe(live);
  expect(Array.from(await rt.read(v))).toEqual(Array.from(data));
  rt.release(v);
  expect(rt.pool.stats.liveBytes).toBeLessThan(live);
  await expect(rt.read(v)).rejects.toThrow(TensorReleasedError);
});

describe('syncPrevious (one submission in flight while the next is recorded)', () => {
  test('each call submits; a loop of scale steps synced this way reads back exactly', async () => {
    const rt = await gpuRuntime();
    const ops = new GpuOps(rt);
    const data = randomNormal(64, 11);
    let x = ops.upload(data, [64]);
    const submits = rt.stats.submits;
    for (let i = 0; i < 6; i++) {
      const y = ops.scale(x, 2);
      ops.release(x);
      x = y;
      await rt.syncPrevious();
    }
    expect(rt.stats.submits).toBe(submits + 6);
    const got = await ops.read(x);
    got.forEach((v, i) => expect(v).toBe(data[i]! * 64));
  });

  test("a WebGPU error is reported by the call after its submission, once, and the runtime stays usable", async () => {
    const rt = await gpuRuntime();
    const broken = defineKernel({ family: 'runtime-test', entryPoint: 'broken', source: '@compute @workgroup_size(1) fn broken() { let x: u32 = 1.5; }', storage: [] });
    rt.dispatch(broken, { bindings: [], workgroups: 1 });
    await expect(rt.syncPrevious()).resolves.toBeUndefined();
    await expect(rt.syncPrevious()).rejects.toThrow(GpuValidationError);
    await expect(rt.syncPrevious()).resolves.toBeUndefined();
    await expect(rt.sync()).resolves.toBeUndefined();
    expect(Array.from(await iota(rt, 5))).toEqual([0, 1, 2, 3, 4]);
  });

  test('a host-polling runtime (sleeps before it polls) gives the same results', async () => {
    const ctx = await gpuContext();
    const rt = new GpuRuntime(ctx.device, ctx.capabilities, { hostPolling: true });
    const ops = new GpuOps(rt);
    const data = randomNormal(4096, 12);
    let x = ops.upload(data, [4096]);
    for (let i = 0; i < 8; i++) {
      const y = ops.unary(ops.scale(x, 0.5), 'relu');
      ops.release(x);
      x = y;
      await rt.syncPrevious();
    }
    const got = await ops.read(x);
    got.forEach((v, i) => expect(v).toBeCloseTo(Math.max(0, data[i]!) / 256, 6));
  });
});

/** Keeps the GPU busy for a number of dependent multiply-adds per thread. */
const BUSY = defineKernel({
  family: 'runtime-test',
  entryPoint: 'busy',
  source: `
struct U { n: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn busy(@builtin(global_invocation_id) g: vec3<u32>) {
  var x = out[g.x];
  for (var i = 0u; i < u.n; i++) { x = x * 0.9999999 + 0.5; }
  out[g.x] = x;
}`,
  storage: ['read_write'],
});

test('the wait estimate follows the work: it drops when steps get shorter, and other work is measured afresh', async () => {
  const HEAVY = 8_000_000;
  const ctx = await gpuContext();
  const rt = new GpuRuntime(ctx.device, ctx.capabilities, { hostPolling: true });
  const out = rt.upload(new Float32Array(256), [256]);
  const step = (n: number) => {
    rt.dispatch(BUSY, { bindings: [out], uniforms: { n }, workgroups: 4 });
    return rt.syncPrevious();
  };
  // Heavy enough (~0.4 s a step on lavapipe) that a loaded machine's scheduling noise, tens of
  // ms on a trivial submission, stays well under the quarter of it the checks below allow.
  for (let i = 0; i < 4; i++) await step(HEAVY);
  const heavy = rt.gpuWaitEstimateMs!;
  expect(heavy).toBeGreaterThan(5);
  // Were oversleeps measured as GPU time, a stale estimate would make every short step sleep
  // for most of a long one.
  for (let i = 0; i < 8; i++) await step(1);
  expect(rt.gpuWaitEstimateMs!).toBeLessThan(heavy / 4);

  for (let i = 0; i < 4; i++) await step(HEAVY);
  const again = rt.gpuWaitEstimateMs!;
  // Work with other dispatch and workgroup counts (another model or size) must not sleep on
  // this estimate: its first measured wait would then be most of `again`.
  const other = async () => {
    rt.dispatch(BUSY, { bindings: [out], uniforms: { n: 1 }, workgroups: 2 });
    rt.dispatch(BUSY, { bindings: [out], uniforms: { n: 1 }, workgroups: 2 });
    await rt.syncPrevious();
  };
  await other();
  await other();
  expect(rt.gpuWaitEstimateMs!).toBeLessThan(again / 4);
});

test("Dawn's Node binding is recognised as host-polling, so its runtime sleeps before it polls", async () => {
  const ctx = await gpuContext();
  expect(ctx.runtime.hostPolling).toBe(true);
  expect(GpuRuntime.plan().hostPolling).toBe(false);
});

test('bind groups are cached: a repeated run over the same pooled buffers creates none', async () => {
  const rt = await gpuRuntime();
  const ops = new GpuOps(rt);
  const x = ops.upload(randomNormal(300, 13), [300]);
  const run = async () => {
    const a = ops.add(x, x);
    const b = ops.unary(a, 'silu');
    ops.release(a);
    const out = await ops.read(b);
    ops.release(b);
    return out;
  };
  const first = await run();
  const created = rt.stats.bindGroupsCreated;
  expect(created).toBeGreaterThan(0);
  expect(Array.from(await run())).toEqual(Array.from(first));
  expect(rt.stats.bindGroupsCreated).toBe(created);
  const y = ops.upload(randomNormal(300, 14), [300]);
  await ops.read(ops.add(y, x));
  expect(rt.stats.bindGroupsCreated).toBe(created + 1);
});

test('releaseIdle destroys idle buffers mid-recording without breaking the commands recorded so far', async () => {
  const rt = await gpuRuntime();
  const ops = new GpuOps(rt);
  const xData = randomNormal(500, 15);
  const x = ops.upload(xData, [500]);
  const a = ops.add(x, x);
  const b = ops.unary(a, 'relu');
  ops.release(a);
  rt.releaseIdle();
  const got = await ops.read(b);
  ops.release(b);
  expect(Array.from(got)).toEqual(Array.from(xData, (v) => Math.max(0, Math.fround(2 * v))));
  rt.releaseIdle();
  const held = rt.pool.stats;
  expect(held.reservedBytes).toBe(held.liveBytes);
  const again = ops.unary(x, 'relu');
  expect(Array.from(await ops.read(again))).toEqual(Array.from(xData, (v) => Math.max(0, Math.fround(v))));
  ops.release(again);
  ops.release(x);
});
