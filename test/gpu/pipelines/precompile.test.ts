import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { StableDiffusionPipeline, type PipelineLoadOptions } from '../../../src/pipelines/stable-diffusion.js';
import { warmupJobs } from '../../../src/pipelines/warmup-jobs.js';
import { GpuContext } from '../../../src/webgpu/device.js';
import type { GpuRuntime } from '../../../src/webgpu/runtime.js';
import { fixturePath, repoRoot } from '../../helpers/fixtures.js';
import { gpuContext, gpuContextWithoutF16 } from '../helpers/device.js';
import { writeTaesdRepo } from '../helpers/taesd-repo.js';

const tinyShapes = resolve(repoRoot, 'models/tiny-shapes');
const scratch = mkdtempSync(join(tmpdir(), 'omni-precompile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Loads, precompiles what the warm-up jobs dispatch (as the engine host does during a load),
 * then runs each job of `requests` at full length and counts the pipelines it compiled.
 */
async function compilesAfterWarmup(rt: GpuRuntime, model: string, options: PipelineLoadOptions, requests: (base: ReturnType<typeof warmupJobs>[number]) => ReturnType<typeof warmupJobs>) {
  const pipeline = await StableDiffusionPipeline.load(new LocalFolderSource(model), rt, options);
  try {
    const jobs = warmupJobs(pipeline);
    rt.flush();
    const before = { dispatches: rt.stats.dispatches, live: rt.pool.stats.liveBytes, allocations: rt.pool.stats.allocations };
    const kernels = await pipeline.kernelsFor(jobs);
    // The dry run is plan mode: nothing recorded on the device, nothing allocated there.
    expect({ dispatches: rt.stats.dispatches, live: rt.pool.stats.liveBytes, allocations: rt.pool.stats.allocations }).toEqual(before);
    const progress: Array<[number, number]> = [];
    const compiled = await rt.precompile(kernels, (done, total) => progress.push([done, total]));
    expect(progress[0]).toEqual([0, compiled]);
    expect(progress.at(-1)).toEqual([compiled, compiled]);
    expect(progress.map(([d]) => d)).toEqual(Array.from({ length: compiled + 1 }, (_, i) => i));
    // Everything is in the cache now: a second pass compiles nothing.
    expect(await rt.precompile(kernels)).toBe(0);
    const afterEach: number[] = [];
    for (const job of requests(jobs[0]!)) {
      const start = rt.stats.pipelinesCompiled;
      await pipeline.generate(job);
      afterEach.push(rt.stats.pipelinesCompiled - start);
    }
    return { kernels: kernels.size, compiled, afterEach };
  } finally {
    pipeline.release();
  }
}

describe('StableDiffusionPipeline.kernelsFor: a dry run finds every kernel a request at the defaults dispatches (Dawn)', () => {
  it('tiny-shapes f32: after precompiling, a full request at the defaults compiles nothing', async () => {
    const rt = (await gpuContext()).runtime;
    const full = (base: ReturnType<typeof warmupJobs>[number]) => [
      { ...base, numInferenceSteps: 20, prompt: 'a red circle', seed: 3 },
      { ...base, numInferenceSteps: 20, prompt: 'a blue square', negativePrompt: 'green', seed: 4 },
    ];
    const r = await compilesAfterWarmup(rt, tinyShapes, { dtype: 'f32' }, full);
    expect(r.kernels).toBeGreaterThan(10);
    expect(r.afterEach).toEqual([0, 0]);
    console.log(`tiny-shapes f32: ${r.kernels} specialisations found, ${r.compiled} compiled at load, then ${r.afterEach.join(', ')} at generate`);
  });

  it('f16 weights and f16 activations (shader-f16): the same', async () => {
    const rt = (await gpuContext()).runtime;
    expect(rt.shaderF16, 'lavapipe has shader-f16').toBe(true);
    const r = await compilesAfterWarmup(rt, tinyShapes, { dtype: 'f16', activations: 'f16' }, (base) => [{ ...base, numInferenceSteps: 10 }]);
    expect(r.afterEach).toEqual([0]);
  });

  it('f16 weights packed in u32 words (no shader-f16): the same', async () => {
    const rt = (await gpuContextWithoutF16()).runtime;
    expect(rt.shaderF16).toBe(false);
    const r = await compilesAfterWarmup(rt, tinyShapes, { dtype: 'f16' }, (base) => [{ ...base, numInferenceSteps: 10 }]);
    expect(r.afterEach).toEqual([0]);
  });

  it('SD-Turbo tiny with TAESD: both decoders precompiled, neither compiles at generate', async () => {
    const rt = (await gpuContext()).runtime;
    const model = fixturePath('pipeline-sdturbo-tiny');
    const taesd = new LocalFolderSource(writeTaesdRepo(join(scratch, 'taesd')));
    const r = await compilesAfterWarmup(rt, model, { dtype: 'f32', taesd }, (base) => [
      { ...base, numInferenceSteps: 4, decoder: 'vae' },
      { ...base, numInferenceSteps: 4, decoder: 'taesd' },
    ]);
    expect(r.afterEach).toEqual([0, 0]);
  });

  it('another size reuses most kernels: what it adds is reported, not precompiled (a fresh device)', async () => {
    const ctx = await GpuContext.create();
    try {
      const r = await compilesAfterWarmup(ctx.runtime, tinyShapes, { dtype: 'f32' }, (base) => [{ ...base, width: base.width * 2, height: base.height * 2, numInferenceSteps: 2 }]);
      expect(r.compiled).toBe(r.kernels);
      expect(r.afterEach[0]).toBeLessThan(r.kernels);
      console.log(`tiny-shapes at twice the default size: ${r.afterEach[0]} of ${r.kernels} kernels compiled on use`);
    } finally {
      ctx.destroy();
    }
  });
});
