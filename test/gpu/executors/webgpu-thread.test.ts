import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, DiffusionEngine, type DiffusionOutput, type DiffusionRequestInit } from '../../../src/index.js';
import type { WebGPUDiffusionExecutor } from '../../../src/executors/webgpu/executor.js';
import type { GpuFaultKind } from '../../../src/webgpu/fault.js';
import { repoRoot } from '../../helpers/fixtures.js';

const MODEL = resolve(repoRoot, 'models/tiny-shapes');
const REQUEST = { prompt: 'a green square on a yellow background', numInferenceSteps: 6, seed: 5 } as const;

/** Runs `work` while a 5 ms interval ticks; returns its result and the longest gap between ticks (event-loop stall). */
async function withLoopLag<T>(work: () => Promise<T>): Promise<{ result: T; maxGapMs: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 5);
  try {
    return { result: await work(), maxGapMs };
  } finally {
    clearInterval(timer);
  }
}

describe('webgpu executor in a Node worker_threads thread (worker: true)', () => {
  let threaded: DiffusionEngine;
  let executor: WebGPUDiffusionExecutor;
  let inProcess: DiffusionOutput;
  const run = async (request: DiffusionRequestInit): Promise<DiffusionOutput> => (await threaded.step([request]))[0]!;

  beforeAll(async () => {
    const local = await DiffusionEngine.create({ modelNameOrPath: MODEL, dtype: 'f32' });
    try {
      inProcess = (await local.step([REQUEST]))[0]!;
    } finally {
      await local.close();
    }
    threaded = await DiffusionEngine.create({ modelNameOrPath: MODEL, dtype: 'f32', worker: true });
    executor = threaded.executor as WebGPUDiffusionExecutor;
  });

  afterAll(async () => {
    const closing = performance.now();
    await threaded?.close();
    expect(performance.now() - closing).toBeLessThan(10_000);
  });

  it('gives the in-process image, with progress, while the caller’s event loop stays free', async () => {
    const steps: number[] = [];
    const { result, maxGapMs } = await withLoopLag(() => run({ ...REQUEST, onProgress: (p) => steps.push(p.step) }));
    expect(result.error).toBeNull();
    expect(result.images[0]!.data).toEqual(inProcess.images[0]!.data);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
    expect(executor.info?.adapter).toBeTruthy();
    // Recording, tokenising and decoding happen in the thread: this loop never waits for them.
    console.log(`event-loop stall during a threaded generation: ${maxGapMs.toFixed(1)} ms`);
    expect(maxGapMs).toBeLessThan(150);
  });

  it('aborts a running request', async () => {
    const controller = new AbortController();
    const out = await run({ ...REQUEST, numInferenceSteps: 30, signal: controller.signal, onProgress: (p) => p.step === 2 && controller.abort() });
    expect(out.errorName).toBe(AbortError.name);
  });

  for (const kind of ['shape', 'validation', 'host', 'device-lost'] as GpuFaultKind[]) {
    it(`survives a ${kind} fault mid-recording in the thread: typed error, then the same image`, async () => {
      await executor.injectFault({ kind, afterDispatches: 50 });
      const failed = await run(REQUEST);
      expect(failed.errorName).toBe({ shape: 'TensorShapeError', validation: 'GpuValidationError', host: 'Error', 'device-lost': 'GpuDeviceLostError' }[kind]);
      const next = await run(REQUEST);
      expect(next.error).toBeNull();
      expect(next.images[0]!.data).toEqual(inProcess.images[0]!.data);
    });
  }

  it('a crashed thread fails the request in flight; the next request starts a fresh thread', async () => {
    // The crash call itself may fail with ExecutorDeadError: the thread dies before it answers.
    const out = await run({ ...REQUEST, numInferenceSteps: 30, onProgress: (p) => p.step === 1 && void executor.crashWorker().catch(() => undefined) });
    expect(out.errorName).toBe('ExecutorDeadError');
    const next = await run(REQUEST);
    expect(next.error).toBeNull();
    expect(next.images[0]!.data).toEqual(inProcess.images[0]!.data);
  });
});
