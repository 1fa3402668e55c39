import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';
import { DiffusionEngine, type DiffusionOutput } from '../../../src/index.js';
import type { WebGPUDiffusionExecutor } from '../../../src/executors/webgpu/executor.js';
import { loadFixture, type PipelineFixture } from '../../../tools/verify/fixture/fixture.js';
import { formatComparison } from '../../../tools/verify/compare.js';
import { runPipelineFixture } from '../../../tools/verify/pipeline.js';
import { fixturePath } from '../../helpers/fixtures.js';

const PIPELINES = ['pipeline-sd15-tiny', 'pipeline-sdturbo-tiny'];

describe('webgpu executor: pipeline fixtures through DiffusionEngine (Node + Dawn)', () => {
  it.each(PIPELINES)('%s matches the reference latents and image', async (name) => {
    const dir = fixturePath(name);
    const fx = (await loadFixture(dir)) as PipelineFixture;
    const results = await runPipelineFixture(fx);
    for (const r of results) console.log(`${name} ${formatComparison(r)}`);
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
    expect(results.map((r) => r.name)).toContain('image');
  });
});

describe('webgpu executor: requests, cancellation, recovery and memory', () => {
  let engine: DiffusionEngine;
  const base = { prompt: 'a photo of a cat', numInferenceSteps: 2, guidanceScale: 0, height: 64, width: 64 };

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: fixturePath('pipeline-sdturbo-tiny'), dtype: 'f32' });
  });

  afterAll(async () => {
    await engine?.close();
  });

  it('runs in-process on Dawn and names the executor', () => {
    expect(engine.executorName).toBe('webgpu');
    // The device gets the adapter's larger size limits unless the config asks for the defaults
    // (lavapipe: 4 GiB buffers, 32 KiB of workgroup memory).
    const { limits } = (engine.executor as WebGPUDiffusionExecutor).info!;
    expect(limits.maxBufferSize + limits.maxComputeWorkgroupStorageSize).toBeGreaterThan(268_435_456 + 16_384);
    expect(engine.fallbackReason).toBeNull();
  });

  it('reports progress once per step and returns RGBA images of the asked size', async () => {
    const steps: number[] = [];
    const out = await engine.generate({ ...base, seed: 3, onProgress: (p) => steps.push(p.step) });
    expect(steps).toEqual([1, 2]);
    expect(out.images).toHaveLength(1);
    expect(out.images[0]).toMatchObject({ width: 64, height: 64, seed: 3 });
    expect(out.images[0]!.data).toHaveLength(64 * 64 * 4);
    expect(out.metrics.perStepMs).toBeGreaterThan(0);
  });

  it('reports a step only once the GPU has finished it, the last one included', async () => {
    // The n-th syncPrevious resolves once the submission of the (n-1)-th has finished, and each
    // denoising step is one such submission: step s is done when s + 1 of them have resolved.
    let resolved = 0;
    const original = GpuRuntime.prototype.syncPrevious;
    const spy = vi.spyOn(GpuRuntime.prototype, 'syncPrevious').mockImplementation(async function (this: GpuRuntime) {
      await original.call(this);
      resolved++;
    });
    const seen: Array<{ step: number; finished: number }> = [];
    try {
      for (const steps of [3, 1]) {
        const before = resolved;
        await engine.generate({ ...base, numInferenceSteps: steps, seed: 4, onProgress: (p) => seen.push({ step: p.step, finished: resolved - before }) });
      }
    } finally {
      spy.mockRestore();
    }
    expect(seen.map((s) => s.step)).toEqual([1, 2, 3, 1]);
    for (const { step, finished } of seen) expect(finished).toBeGreaterThanOrEqual(step + 1);
  });

  it('reproduces each image from its seed, whatever the batch', async () => {
    const [batch] = await engine.step([{ ...base, seed: 10, numOutputsPerPrompt: 2 }]);
    const [single] = await engine.step([{ ...base, seed: 11 }]);
    expect(batch!.images.map((i) => i.seed)).toEqual([10, 11]);
    expect(Array.from(single!.images[0]!.data)).toEqual(Array.from(batch!.images[1]!.data));
    expect(Array.from(batch!.images[0]!.data)).not.toEqual(Array.from(batch!.images[1]!.data));
  });

  it('cancels between steps with an AbortError and stays usable', async () => {
    const controller = new AbortController();
    const [cancelled] = await engine.step([
      { ...base, numInferenceSteps: 4, seed: 1, signal: controller.signal, onProgress: (p) => p.step === 1 && controller.abort() },
    ]);
    expect(cancelled!.errorName).toBe('AbortError');
    expect(cancelled!.images).toEqual([]);
    const [next] = await engine.step([{ ...base, seed: 1 }]);
    expect(next!.error).toBeNull();
  });

  it('queues concurrent step calls in order', async () => {
    const order: string[] = [];
    const runs = ['a', 'b', 'c'].map((id) =>
      engine.step([{ ...base, numInferenceSteps: 1, seed: 1, requestId: id }]).then((outs: DiffusionOutput[]) => order.push(outs[0]!.requestId)),
    );
    await Promise.all(runs);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('fails the request in flight when the device is lost, then recovers for the next one', async () => {
    const executor = engine.executor as WebGPUDiffusionExecutor;
    const [lost] = await engine.step([{ ...base, numInferenceSteps: 3, seed: 2, onProgress: (p) => p.step === 1 && void executor.loseDevice() }]);
    expect(lost!.error).toMatch(/device lost/i);
    const [after] = await engine.step([{ ...base, seed: 2 }]);
    expect(after!.error).toBeNull();
    expect(after!.images).toHaveLength(1);
  });

  it('returns to the same live GPU memory after each of 50 generations', async () => {
    const executor = engine.executor as WebGPUDiffusionExecutor;
    await engine.generate({ ...base, numInferenceSteps: 1, seed: 0 });
    const baseline = (await executor.memory()).liveBytes;
    for (let i = 0; i < 50; i++) {
      await engine.generate({ ...base, numInferenceSteps: 1 + (i % 2), seed: i, numOutputsPerPrompt: 1 + (i % 3 === 0 ? 1 : 0) });
      expect((await executor.memory()).liveBytes).toBe(baseline);
    }
  });

  it('gives idle activation buffers back after each request: only the weights stay reserved', async () => {
    const executor = engine.executor as WebGPUDiffusionExecutor;
    const [first] = await engine.step([{ ...base, seed: 3 }]);
    const idle = await executor.memory();
    expect(idle.reservedBytes).toBe(idle.liveBytes);
    expect(idle.peakBytes).toBeGreaterThan(idle.liveBytes);
    const [second] = await engine.step([{ ...base, seed: 3 }]);
    expect(Array.from(second!.images[0]!.data)).toEqual(Array.from(first!.images[0]!.data));
  });
});
