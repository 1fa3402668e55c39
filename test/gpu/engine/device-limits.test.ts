import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLimitError, DiffusionEngine, OmniDiffusionError } from '../../../src/index.js';
import type { WebGPUDiffusionExecutor } from '../../../src/executors/webgpu/executor.js';
import { repoRoot } from '../../helpers/fixtures.js';

describe('DiffusionEngine (webgpu, Node + Dawn) refuses a request the device cannot run and keeps serving', () => {
  let engine: DiffusionEngine;

  beforeAll(async () => {
    // WebGPU's default limits, not the adapter's larger ones: the refusal below is sized for them.
    engine = await DiffusionEngine.create({ modelNameOrPath: resolve(repoRoot, 'models/tiny-shapes'), dtype: 'f32', gpuLimits: 'default' });
  });

  afterAll(async () => {
    await engine?.close();
  });

  it('answers DeviceLimitError (by name, with tensor, bytes, limit and advice) without touching the GPU, then generates the next request', async () => {
    const executor = engine.executor as WebGPUDiffusionExecutor;
    const before = await executor.memory();
    const [tooBig, normal] = await engine.step([
      { prompt: 'a red circle on a blue background', width: 8192, height: 8192, numInferenceSteps: 2, seed: 3 },
      { prompt: 'a red circle on a blue background', numInferenceSteps: 2, seed: 3 },
    ]);
    expect(tooBig!.images).toEqual([]);
    expect(tooBig!.errorName).toBe(DeviceLimitError.name);
    expect(tooBig!.error).toMatch(/The unet at 8192×8192, input \[2,3,8192,8192\] does not fit this GPU: tensor \[[\d,]+\] f32 \(\d+ bytes\) does not fit maxStorageBufferBindingSize = 134217728\. Try a smaller size \(\d+×\d+ fits\)\./);
    expect(normal!.error).toBeNull();
    expect(normal!.images).toHaveLength(1);
    expect(normal!.images[0]).toMatchObject({ width: 32, height: 32 });
    // Between requests only the weights stay: the refused one left nothing behind.
    expect((await executor.memory()).liveBytes).toBe(before.liveBytes);
  });
});

describe('DiffusionEngine (webgpu in a worker_threads thread, worker: true) rebuilds the refusal on the caller’s side', () => {
  let engine: DiffusionEngine;

  beforeAll(async () => {
    // The thread runs dist/engine-thread.js: `npm run build` first.
    engine = await DiffusionEngine.create({ modelNameOrPath: resolve(repoRoot, 'models/tiny-shapes'), dtype: 'f32', gpuLimits: 'default', worker: true });
  });

  afterAll(async () => {
    await engine?.close();
  });

  it('rejects generate() with a DeviceLimitError instance whose fields crossed the thread boundary', async () => {
    const err = await engine.generate({ prompt: 'a red circle on a blue background', width: 8192, height: 8192, numInferenceSteps: 2, seed: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLimitError);
    expect(err).toBeInstanceOf(OmniDiffusionError);
    const limit = err as DeviceLimitError;
    expect(limit).toMatchObject({ code: 'DEVICE_LIMIT', component: 'unet', limit: 'maxStorageBufferBindingSize', limitValue: 134217728 });
    expect(limit.tensor).toMatch(/^tensor \[[\d,]+\] f32$/);
    expect(limit.bytes).toBeGreaterThan(134217728);
    expect(limit.advice).toMatch(/^Try a smaller size \(\d+×\d+ fits\)\.$/);
    const [out] = await engine.step([{ prompt: 'a red circle on a blue background', width: 8192, height: 8192, numInferenceSteps: 2, seed: 3 }]);
    expect(out!.errorInfo).toMatchObject({ name: 'DeviceLimitError', code: 'DEVICE_LIMIT', limitValue: 134217728 });
  });
});
