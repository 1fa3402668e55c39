import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionOutput } from '../../../src/index.js';
import type { MultiProcDiffusionExecutor } from '../../../src/executors/multiproc/executor.js';
import type { HostMemory } from '../../../src/host/protocol.js';
import { fixturePath } from '../../helpers/fixtures.js';

const model = { modelNameOrPath: fixturePath('pipeline-sdturbo-tiny'), dtype: 'f32' as const };
const base = { prompt: 'a photo of a cat', numInferenceSteps: 1, guidanceScale: 0, height: 64, width: 64 };
const SEEDS = [5, 6, 7, 8];

function pixels(out: DiffusionOutput): number[] {
  expect(out.error).toBeNull();
  return Array.from(out.images[0]!.data);
}

describe('multiproc executor: a pool of engine hosts (Node + Dawn, one device each)', () => {
  let engine: DiffusionEngine;
  let reference: DiffusionOutput[];

  beforeAll(async () => {
    const single = await DiffusionEngine.create({ ...model, executorClass: 'webgpu' });
    try {
      reference = await single.step(SEEDS.map((seed) => ({ ...base, seed })));
    } finally {
      await single.close();
    }
    engine = await DiffusionEngine.create({ ...model, executorClass: 'mp', numGpus: 2 });
  });

  afterAll(async () => {
    await engine?.close();
  });

  it('rejects numGpus below 1 at init with a ConfigValidationError naming numGpus', async () => {
    const err = await DiffusionEngine.create({ ...model, executorClass: 'multiproc', numGpus: 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ConfigValidationError', field: 'numGpus' });
  });

  it('returns outputs in request order, spread over both hosts, byte-identical to the webgpu executor', async () => {
    const outs = await engine.step(SEEDS.map((seed, i) => ({ ...base, seed, requestId: `r${i}` })));
    expect(outs.map((o) => o.requestId)).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(outs.map((o) => o.images[0]?.seed)).toEqual(SEEDS);
    expect(new Set(outs.map((o) => o.metrics.hostIndex))).toEqual(new Set([0, 1]));
    outs.forEach((out, i) => expect(pixels(out)).toEqual(pixels(reference[i]!)));
    const served = (engine.executor as MultiProcDiffusionExecutor).served();
    expect(served).toHaveLength(2);
    expect(served.every((n) => n > 0)).toBe(true);
  });

  it('answers collectiveRpc once per host, each with its own loaded model', async () => {
    const memory = (await engine.collectiveRpc('memory')) as HostMemory[];
    expect(memory).toHaveLength(2);
    for (const m of memory) expect(m.liveBytes).toBeGreaterThan(0);
  });

  it('keeps each call in order when calls run concurrently', async () => {
    const calls = [0, 1, 2].map((k) => engine.step([0, 1].map((j) => ({ ...base, seed: SEEDS[j]!, requestId: `c${k}-${j}` }))));
    const results = await Promise.all(calls);
    results.forEach((outs, k) => expect(outs.map((o) => o.requestId)).toEqual([`c${k}-0`, `c${k}-1`]));
    for (const outs of results) outs.forEach((out, j) => expect(pixels(out)).toEqual(pixels(reference[j]!)));
  });

  it('aborts one request of a batch with an AbortError while the others finish', async () => {
    const controller = new AbortController();
    const outs = await engine.step([
      { ...base, seed: SEEDS[0]!, numInferenceSteps: 3, signal: controller.signal, onProgress: (p) => p.step === 1 && controller.abort() },
      { ...base, seed: SEEDS[1]! },
      { ...base, seed: SEEDS[2]! },
    ]);
    expect(outs[0]!.errorName).toBe('AbortError');
    expect(outs[0]!.images).toEqual([]);
    expect(pixels(outs[1]!)).toEqual(pixels(reference[1]!));
    expect(pixels(outs[2]!)).toEqual(pixels(reference[2]!));
  });

  it('recovers every host after its device is lost, with the same images as before', async () => {
    await engine.collectiveRpc('loseDevice');
    const outs = await engine.step(SEEDS.slice(0, 2).map((seed) => ({ ...base, seed })));
    expect(new Set(outs.map((o) => o.metrics.hostIndex))).toEqual(new Set([0, 1]));
    outs.forEach((out, i) => expect(pixels(out)).toEqual(pixels(reference[i]!)));
    await expect(engine.checkHealth()).resolves.toBeUndefined();
  });
});
