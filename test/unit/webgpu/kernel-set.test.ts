import { expect, test } from 'vitest';
import { KernelSet } from '../../../src/webgpu/kernel-set.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';

const names = (set: KernelSet) => [...set].map((k) => `${k.kernel.family}.${k.kernel.entryPoint}`);

test('a plan-mode runtime with a KernelSet notes each distinct specialisation once, in first-use order', () => {
  const kernels = new KernelSet();
  const rt = GpuRuntime.plan({ shaderF16: true, kernels });
  const ops = new GpuOps(rt);
  const a = ops.upload(new Float32Array(64), [64]);
  const b = ops.upload(new Float32Array(64), [64]);
  const sums = [ops.add(a, b), ops.add(a, b), ops.add(b, a)];
  expect(kernels.size).toBe(1);
  // The same kernel storing f16: another specialisation (OUT_F16), noted with the device's SHADER_F16.
  const half = rt.withActivations('f16', () => ops.add(a, b));
  const scaled = ops.scale(a, 2);
  expect(kernels.size).toBe(3);
  const all = [...kernels];
  expect(all[0]!.defines).toMatchObject({ SHADER_F16: true });
  expect(all[1]!.defines).toMatchObject({ SHADER_F16: true, OUT_F16: true });
  expect(names(kernels)[0]).toBe(names(kernels)[1]);
  expect(names(kernels)[2]).not.toBe(names(kernels)[0]);
  for (const t of [a, b, ...sums, half, scaled]) ops.release(t);
});

test('a plan-mode runtime without one notes nothing, and compiles nothing when asked to precompile', async () => {
  const kernels = new KernelSet();
  const noted = new GpuOps(GpuRuntime.plan({ kernels }));
  const x = noted.upload(new Float32Array(4), [4]);
  noted.release(noted.add(x, x));
  expect(kernels.size).toBe(1);
  const rt = GpuRuntime.plan();
  const ops = new GpuOps(rt);
  const a = ops.upload(new Float32Array(4), [4]);
  ops.release(ops.add(a, a));
  expect(kernels.size).toBe(1);
  const progress: number[] = [];
  expect(await rt.precompile(kernels, (done) => progress.push(done))).toBe(0);
  expect(progress).toEqual([]);
  ops.release(a);
});
