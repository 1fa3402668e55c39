import { expect, test } from 'vitest';
import { ExecutorUnavailableError } from '../../../src/api/errors.js';
import { GpuContext, requestGpuDevice } from '../../../src/webgpu/device.js';
import { GpuDeviceLostError } from '../../../src/webgpu/errors.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { DEFAULT_LIMITS, SIZE_LIMITS } from '../../../src/webgpu/limits.js';

test('device loss is reported through lost and onLost, and recreate() gives a working runtime', async () => {
  const ctx = await GpuContext.create();
  const events: string[] = [];
  ctx.onLost((e) => events.push(e.reason));
  const oldRuntime = ctx.runtime;
  const x = oldRuntime.upload(Float32Array.from([1, 2, 3]), [3]);
  ctx.device.destroy();
  const lost = await ctx.lost;
  expect(lost.reason).toBe('destroyed');
  expect(events).toEqual(['destroyed']);
  await expect(oldRuntime.read(x)).rejects.toThrow(GpuDeviceLostError);

  await ctx.recreate();
  expect(ctx.runtime).not.toBe(oldRuntime);
  const ops = new GpuOps(ctx.runtime);
  expect(Array.from(await ops.read(ops.scale(ops.upload(Float32Array.from([1, 2, 3]), [3]), 2)))).toEqual([2, 4, 6]);
  expect(events).toEqual(['destroyed']);
  ctx.destroy();
  await ctx.lost;
  expect(events).toEqual(['destroyed', 'destroyed']);
});

test('a limit larger than the adapter offers is refused with ExecutorUnavailableError naming it', async () => {
  const err = await requestGpuDevice({ minLimits: { maxStorageBufferBindingSize: 2 ** 52 } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ExecutorUnavailableError);
  expect((err as Error).message).toMatch(/maxStorageBufferBindingSize: need 4503599627370496/);
});

test('a missing required feature is refused with ExecutorUnavailableError naming it', async () => {
  const err = await requestGpuDevice({ requiredFeatures: ['texture-compression-astc-sliced-3d' as GPUFeatureName] }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ExecutorUnavailableError);
  expect((err as Error).message).toMatch(/texture-compression-astc-sliced-3d/);
});

test('a device is granted only the features asked for', async () => {
  const { device, capabilities } = await requestGpuDevice({ optionalFeatures: [] });
  expect(capabilities.shaderF16).toBe(false);
  expect([...device.features]).not.toContain('shader-f16');
  device.destroy();
});

test('adapterLimits asks for the adapter\'s size limits; without it a device keeps the defaults', async () => {
  const plain = await requestGpuDevice();
  const wide = await requestGpuDevice({ adapterLimits: SIZE_LIMITS });
  try {
    for (const key of SIZE_LIMITS) {
      expect(plain.capabilities.limits[key]).toBe(DEFAULT_LIMITS[key]);
      expect(wide.capabilities.limits[key]).toBe(Math.max(DEFAULT_LIMITS[key], wide.adapter.limits[key]));
    }
    // lavapipe offers 4 GiB buffers and 32 KiB of workgroup memory (desktop GPUs more per binding too).
    expect(SIZE_LIMITS.filter((key) => wide.capabilities.limits[key] > DEFAULT_LIMITS[key]).length).toBeGreaterThan(0);
  } finally {
    plain.device.destroy();
    wide.device.destroy();
  }
});
