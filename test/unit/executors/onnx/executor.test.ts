import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxDiffusionExecutor } from '../../../../src/executors/onnx/executor.js';
import { DiffusionEngine, type DiffusionImage, type DiffusionOutput, type DiffusionRequestInit } from '../../../../src/index.js';
import { loadFixture, type FixtureTensor, type PipelineFixture } from '../../../../tools/verify/fixture/fixture.js';
import { pipelineFixtureRequest } from '../../../../tools/verify/fixture/request.js';
import { compareTensors, formatComparison } from '../../../../tools/verify/compare.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const dir = fixturePath('pipeline-sdturbo-tiny-onnx');
let fx: PipelineFixture;
let io: Map<string, FixtureTensor>;
let engine: DiffusionEngine;

beforeAll(async () => {
  fx = (await loadFixture(dir)) as PipelineFixture;
  io = await fx.readIo();
  engine = await DiffusionEngine.create({ executorClass: 'onnx', modelNameOrPath: dir });
}, 120_000);

afterAll(async () => {
  await engine?.close();
});

function tensor(name: string): Float32Array {
  const t = io.get(name);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`io.safetensors has no float tensor "${name}"`);
  return t.data;
}

/** The fixture's request (its prompt, settings and initial noise, as verify runs it), with `extra`. */
function fixtureRequest(extra: Partial<DiffusionRequestInit> = {}): DiffusionRequestInit {
  return { ...pipelineFixtureRequest(fx, tensor('initial_noise')), seed: 7, ...extra };
}

/** RGBA8 images → [B, 3, H, W] floats in [0, 1], the layout of the fixture's `image`. */
function toPlanar(images: readonly DiffusionImage[]): Float32Array {
  const plane = images[0]!.width * images[0]!.height;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((img, b) => {
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[(b * 3 + c) * plane + p] = img.data[p * 4 + c]! / 255;
  });
  return out;
}

function expectSuccess(out: DiffusionOutput): void {
  expect(out.error, out.error ?? '').toBeNull();
}

describe('OnnxDiffusionExecutor on the sdturbo ONNX fixture (wasm EP)', () => {
  it('reproduces the fixture image and trajectory latents from its initial noise', async () => {
    const [out] = await engine.step([fixtureRequest({ returnTrajectoryLatents: true })]);
    expectSuccess(out!);
    expect(engine.executorName).toBe('onnx');
    expect(out!.images).toHaveLength(fx.numImages);
    expect(out!.images[0]).toMatchObject({ width: fx.width, height: fx.height, seed: 7 });
    const image = compareTensors('image', toPlanar(out!.images), tensor('image'), fx.tolerance);
    expect(image.pass, formatComparison(image)).toBe(true);
    expect(out!.trajectoryTimesteps).toEqual(fx.timesteps);
    expect(out!.trajectoryLatents).toHaveLength(fx.numInferenceSteps);
    const latentsTolerance = { maxAbs: fx.tolerance.latentsMaxAbs, maxRelL2: fx.tolerance.latentsMaxRelL2 };
    out!.trajectoryLatents!.forEach((latents, i) => {
      const step = compareTensors(`latents_step_${i}`, latents, tensor(`latents_step_${i}`), latentsTolerance);
      expect(step.pass, formatComparison(step)).toBe(true);
    });
    expect(out!.metrics).toMatchObject({ executor: 'onnx', ep: 'wasm', seeds: [7] });
    expect(out!.metrics.totalMs).toBeGreaterThan(0);
    expect(out!.metrics.perStepMs).toBeGreaterThan(0);
  });

  it('defaults a trailing-spacing (SD-Turbo) model to one step without guidance', async () => {
    const { numInferenceSteps: _steps, guidanceScale: _guidance, ...request } = fixtureRequest({ returnTrajectoryLatents: true });
    const [out] = await engine.step([request]);
    expectSuccess(out!);
    expect(out!.trajectoryTimesteps).toEqual([999]);
    const final = compareTensors('final_latents', out!.trajectoryLatents!.at(-1)!, tensor('final_latents'), {
      maxAbs: fx.tolerance.latentsMaxAbs,
      maxRelL2: fx.tolerance.latentsMaxRelL2,
    });
    expect(final.pass, formatComparison(final)).toBe(true);
  });

  it('gives each image of a guided batch the image it gets alone from the same noise', async () => {
    const noise = tensor('initial_noise');
    const second = noise.map((v) => -v);
    const both = new Float32Array(noise.length * 2);
    both.set(noise);
    both.set(second, noise.length);
    const common = { prompt: fx.prompt, negativePrompt: 'blurry', guidanceScale: 3, numInferenceSteps: 2, height: fx.height, width: fx.width };
    const [batch, alone] = await engine.step([
      { ...common, numOutputsPerPrompt: 2, latents: both, seed: 40 },
      { ...common, numOutputsPerPrompt: 1, latents: second, seed: 41 },
    ]);
    expectSuccess(batch!);
    expectSuccess(alone!);
    expect(batch!.images.map((im) => im.seed)).toEqual([40, 41]);
    const diff = compareTensors('image 1 of 2', toPlanar([batch!.images[1]!]), toPlanar(alone!.images), { maxAbs: 1 / 255, maxRelL2: 1e-3 });
    expect(diff.pass, formatComparison(diff)).toBe(true);
    expect(toPlanar([batch!.images[0]!])).not.toEqual(toPlanar(alone!.images));
  });

  it('cancels a request mid-run with AbortError and serves the next request', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const [aborted] = await engine.step([
      fixtureRequest({
        numInferenceSteps: 3,
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.step);
          if (p.step === 1) controller.abort();
        },
      }),
    ]);
    expect(aborted).toMatchObject({ errorName: 'AbortError', images: [] });
    expect(seen).toEqual([1]);
    const [next] = await engine.step([fixtureRequest()]);
    expectSuccess(next!);
    expect(next!.images).toHaveLength(fx.numImages);
  });

  it('runs the requests of one step one after the other and returns them in order', async () => {
    const log: string[] = [];
    const progress = (p: { requestId: string; step: number; elapsedMs: number }) => {
      expect(p.elapsedMs).toBeGreaterThan(0);
      log.push(`${p.requestId}:${p.step}`);
    };
    const outs = await engine.step([
      fixtureRequest({ requestId: 'first', numInferenceSteps: 2, onProgress: progress }),
      fixtureRequest({ requestId: 'second', numInferenceSteps: 2, onProgress: progress }),
    ]);
    expect(outs.map((o) => o.requestId)).toEqual(['first', 'second']);
    outs.forEach(expectSuccess);
    expect(log).toEqual(['first:1', 'first:2', 'second:1', 'second:2']);
  });

  it('queues concurrent step calls so that their requests run one at a time, in call order', async () => {
    const log: string[] = [];
    const progress = (p: { requestId: string; step: number }) => log.push(`${p.requestId}:${p.step}`);
    const [a, b] = await Promise.all([
      engine.step([fixtureRequest({ requestId: 'a', numInferenceSteps: 2, onProgress: progress })]),
      engine.step([fixtureRequest({ requestId: 'b', numInferenceSteps: 2, onProgress: progress })]),
    ]);
    expectSuccess(a![0]!);
    expectSuccess(b![0]!);
    expect(log).toEqual(['a:1', 'a:2', 'b:1', 'b:2']);
  });

  it('refuses decoders, img2img and initial noise it cannot use, naming the field', async () => {
    const outs = await engine.step([
      fixtureRequest({ decoder: 'taesd' }),
      fixtureRequest({ image: { width: 8, height: 8, data: new Uint8ClampedArray(8 * 8 * 4) } }),
      fixtureRequest({ latents: new Float32Array(3) }),
    ]);
    expect(outs.map((o) => o.errorName)).toEqual(['RequestValidationError', 'RequestValidationError', 'RequestValidationError']);
    expect(outs[0]!.error).toContain('decoder');
    expect(outs[1]!.error).toContain('image');
    expect(outs[2]!.error).toMatch(/latents.*\[1, 4, 8, 8\]/);
  });

  it('cancels the request in flight with AbortError when the engine closes', async () => {
    let closing: Promise<void> | null = null;
    const [out] = await engine.step([
      fixtureRequest({
        numInferenceSteps: 3,
        onProgress: () => {
          closing ??= engine.close();
        },
      }),
    ]);
    expect(out).toMatchObject({ errorName: 'AbortError', images: [] });
    await closing;
    expect(engine.isClosed).toBe(true);
    expect(engine.executor.isClosed).toBe(true);
  });
});

describe('OnnxDiffusionExecutor configuration', () => {
  it('is unavailable without modelNameOrPath, so that a fallback can take over', async () => {
    await expect(DiffusionEngine.create({ executorClass: 'onnx' })).rejects.toMatchObject({
      name: 'ExecutorUnavailableError',
      message: expect.stringContaining('modelNameOrPath'),
    });
  });

  it("takes steps and guidance from the model's _omni_diffusion_defaults, as the webgpu executor does, and names a bad entry", async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'onnx-defaults-'));
    const withIndex = (extra: object): string => {
      const copy = mkdtempSync(join(scratch, 'model-'));
      for (const name of readdirSync(dir)) if (name !== 'model_index.json') symlinkSync(join(dir, name), join(copy, name));
      const index = JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8')) as object;
      writeFileSync(join(copy, 'model_index.json'), JSON.stringify({ ...index, ...extra }));
      return copy;
    };
    try {
      const stated = await DiffusionEngine.create({ executorClass: 'onnx', modelNameOrPath: withIndex({ _omni_diffusion_defaults: { num_inference_steps: 2, guidance_scale: 1.5 } }) });
      try {
        expect((stated.executor as OnnxDiffusionExecutor).defaults).toMatchObject({ steps: 2, guidanceScale: 1.5 });
        const { numInferenceSteps: _steps, guidanceScale: _guidance, ...request } = fixtureRequest({ returnTrajectoryLatents: true });
        const [out] = await stated.step([request]);
        expectSuccess(out!);
        expect(out!.trajectoryTimesteps).toHaveLength(2);
      } finally {
        await stated.close();
      }
      await expect(DiffusionEngine.create({ executorClass: 'onnx', modelNameOrPath: withIndex({ _omni_diffusion_defaults: { num_inference_steps: 0 } }) })).rejects.toThrow(
        /model_index\.json "_omni_diffusion_defaults"\.num_inference_steps must be a positive integer/,
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    // Two engine loads of the ONNX fixture: about 10 s on two idle cores, twice that beside the other test projects.
  }, 60_000);

  it('rejects an unknown onnx.executionProvider with ConfigValidationError', async () => {
    await expect(DiffusionEngine.create({ executorClass: 'onnx', modelNameOrPath: dir, onnx: { executionProvider: 'cuda' } })).rejects.toMatchObject({
      name: 'ConfigValidationError',
      field: 'onnx.executionProvider',
    });
  });
});
