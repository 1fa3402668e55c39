import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, DiffusionEngine, type DiffusionOutput, type DiffusionRequestInit } from '../../../src/index.js';
import type { WebGPUDiffusionExecutor } from '../../../src/executors/webgpu/executor.js';
import type { GpuFaultKind } from '../../../src/webgpu/fault.js';
import { repoRoot } from '../../helpers/fixtures.js';

/**
 * A failure in the middle of recorded GPU work (issue 17): before `GpuRuntime.work`, the
 * half-recorded commands of a failed request were submitted with the next request's work (at
 * 1024² on the tiny model: minutes of lavapipe time, blocking the thread inside Dawn's pipeline
 * creation), its intermediates stayed allocated, and its WebGPU errors were blamed on the next
 * request. Each kind of failure is raised at a dispatch inside the UNet of step 2.
 */
const REQUEST = { prompt: 'a red circle on a blue background', numInferenceSteps: 4, seed: 11 } as const;
const FAULTS: Array<{ kind: GpuFaultKind; errorName: string }> = [
  { kind: 'shape', errorName: 'TensorShapeError' },
  { kind: 'validation', errorName: 'GpuValidationError' },
  { kind: 'host', errorName: 'Error' },
  { kind: 'device-lost', errorName: 'GpuDeviceLostError' },
];

describe('DiffusionEngine (webgpu, Node + Dawn) after a failure mid-recording', () => {
  let engine: DiffusionEngine;
  let executor: WebGPUDiffusionExecutor;
  let reference: DiffusionOutput;
  let referenceMs: number;
  let weightsBytes: number;
  let dispatchesPerStep: number;

  const run = async (request: DiffusionRequestInit): Promise<DiffusionOutput> => (await engine.step([request]))[0]!;

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: resolve(repoRoot, 'models/tiny-shapes'), dtype: 'f32' });
    executor = engine.executor as WebGPUDiffusionExecutor;
    weightsBytes = (await executor.memory()).liveBytes;
    await run(REQUEST); // compiles every pipeline
    const started = performance.now();
    reference = await run(REQUEST);
    referenceMs = performance.now() - started;
    expect(reference.error).toBeNull();
    // Dispatches of one UNet step: the fault lands mid-UNet of the second step.
    dispatchesPerStep = 40;
  });

  afterAll(async () => {
    const closing = performance.now();
    await engine?.close();
    // Shutdown completes, and promptly, after all the failures below.
    expect(performance.now() - closing).toBeLessThan(10_000);
  });

  for (const { kind, errorName } of FAULTS) {
    it(`${kind}: the request fails with ${errorName}, nothing stays allocated, and the next request gives the same image at normal speed`, async () => {
      await executor.injectFault({ kind, afterDispatches: dispatchesPerStep + 17 });
      const failed = await run(REQUEST);
      expect(failed.images).toEqual([]);
      expect(failed.errorName).toBe(errorName);
      if (kind !== 'device-lost') expect((await executor.memory()).liveBytes).toBe(weightsBytes);

      const started = performance.now();
      const next = await run(REQUEST);
      const ms = performance.now() - started;
      expect(next.error).toBeNull();
      expect(next.images[0]!.data).toEqual(reference.images[0]!.data);
      // A device loss reloads the model first; otherwise the request takes as long as before.
      if (kind !== 'device-lost') expect(ms).toBeLessThan(3 * referenceMs + 500);
      expect((await executor.memory()).liveBytes).toBe(weightsBytes);
    });
  }

  it('a failure late in a large UNet (512×512) leaves none of its recorded work to run with the next request', async () => {
    await executor.injectFault({ kind: 'shape', afterDispatches: 60 });
    const failed = await run({ ...REQUEST, width: 512, height: 512 });
    expect(failed.errorName).toBe('TensorShapeError');
    const started = performance.now();
    const next = await run(REQUEST);
    expect(next.error).toBeNull();
    expect(performance.now() - started).toBeLessThan(3 * referenceMs + 500);
  });

  it('aborts work after the failures: a request aborted at its first step ends with AbortError', async () => {
    await executor.injectFault({ kind: 'shape', afterDispatches: 5 });
    expect((await run(REQUEST)).errorName).toBe('TensorShapeError');
    const controller = new AbortController();
    const out = await run({ ...REQUEST, numInferenceSteps: 20, signal: controller.signal, onProgress: () => controller.abort() });
    expect(out.errorName).toBe(AbortError.name);
    expect((await executor.memory()).liveBytes).toBe(weightsBytes);
  });
});
