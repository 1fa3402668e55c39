import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLimitError, DiffusionEngine } from '../../../src/index.js';
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
