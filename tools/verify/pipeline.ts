import { DiffusionEngine } from '../../src/api/engine.js';
import type { DiffusionImage } from '../../src/api/image.js';
import type { DiffusionOutput } from '../../src/api/output.js';
import type { DiffusionRequestInit } from '../../src/api/request.js';
import type { ExecutorSpec } from '../../src/executors/spec.js';
import { FixtureError } from '../../src/io/errors.js';
import { loadFixture, type FixtureTensor, type PipelineFixture, type Tolerance } from './fixture/fixture.js';
import { pipelineFixtureRequest } from './fixture/request.js';
import { LocalFolderSource } from '../../src/io/sources/local-folder-source.js';
import { compareTensors, type CompareResult } from './compare.js';

/** Options of a pipeline fixture run. */
export interface PipelineRunOptions {
  /** Executor to run through (default `webgpu`). */
  executorClass?: ExecutorSpec;
  /** Extra config fields (e.g. `dtype`, `gpuLimits`). */
  config?: Record<string, unknown>;
  /** Extra request fields (a `lora` fixture's `loras`). */
  request?: Partial<DiffusionRequestInit>;
}

/** Token ids must match exactly. */
const EXACT: Tolerance = { maxAbs: 0, maxRelL2: 0 };

/** The stored tensors judged by the latents tolerance (values reach about 50); all others take the main one. */
const LATENT_OUTPUT = /^(initial_latents|final_latents|latents_step_\d+|unet_output_step_\d+)$/;

/** RGBA8 images → [B, 3, H, W] floats in [0, 1], the fixture's layout. */
function imagesToPlanar(images: readonly DiffusionImage[]): Float32Array {
  const out: number[] = [];
  for (const img of images) {
    const plane = img.width * img.height;
    for (let c = 0; c < 3; c++) for (let p = 0; p < plane; p++) out.push(img.data[p * 4 + c]! / 255);
  }
  return Float32Array.from(out);
}

/**
 * Runs a pipeline fixture through `DiffusionEngine` with the fixture's prompt, settings and
 * initial noise, and compares the schedule's timesteps, the token ids (exactly) and **every**
 * output the fixture stores: `prompt_embeds`, `negative_prompt_embeds` and `image` under
 * `tolerance`; `initial_latents`, `unet_output_step_*`, `latents_step_*` and `final_latents`
 * under the latents tolerance. An output the engine does not produce is a `FixtureError`, never
 * skipped. The image comes back as RGBA8, so it carries up to 0.5/255 of rounding, well inside
 * the tolerances.
 *
 * `fixture` is a fixture directory (Node) or a loaded fixture. A fixture with synthetic-recipe
 * weights is loaded through its `RecipeSource` (in-process: the weights are generated as they
 * stream to the device); a plain one from its folder.
 */
export async function runPipelineFixture(fixture: string | PipelineFixture, options: PipelineRunOptions = {}): Promise<CompareResult[]> {
  const fx = typeof fixture === 'string' ? await loadFixture(fixture) : fixture;
  if (fx.kind !== 'pipeline') throw new FixtureError(fx.file, 'kind', `"${fx.kind}" is not a pipeline fixture`);
  const io = await fx.readIo();
  const tensor = (name: string): FixtureTensor => {
    const t = io.get(name);
    if (!t) throw new FixtureError(fx.file, 'outputs', `"${name}" is not in io.safetensors`);
    return t;
  };
  // A folder by its path, as users name models; any other source (the recipe's) as the object.
  const model = fx.source instanceof LocalFolderSource ? fx.source.dir : fx.source;
  const engine = await DiffusionEngine.create({ executorClass: options.executorClass ?? 'webgpu', modelNameOrPath: model, dtype: 'f32', ...options.config });
  let output: DiffusionOutput;
  try {
    const stepNoise = (fx.stepNoise ?? []).map((name) => tensor(name).data);
    // The reference is diffusers' StableDiffusionPipeline, which reads prompts as they are (no A1111 emphasis).
    const fixed = { ...pipelineFixtureRequest(fx, tensor('initial_noise').data, stepNoise), promptSyntax: 'plain' as const };
    output = await engine.generate({ ...fixed, ...options.request, returnTrajectoryLatents: true, returnIntermediates: true, seed: 0 });
  } finally {
    await engine.close();
  }
  const produced = producedTensors(fx, output);
  const results: CompareResult[] = [
    compareTensors('timesteps', Float32Array.from(output.trajectoryTimesteps ?? []), Float32Array.from(fx.timesteps), { maxAbs: 1e-3, maxRelL2: 1e-6 }),
  ];
  for (const name of ['input_ids', 'negative_input_ids', 'input_ids_2', 'negative_input_ids_2'].filter((n) => fx.inputs.includes(n))) {
    results.push(compareTensors(name, actual(fx, produced, name), tensor(name).data, EXACT));
  }
  const latentsTolerance: Tolerance = { maxAbs: fx.tolerance.latentsMaxAbs, maxRelL2: fx.tolerance.latentsMaxRelL2 };
  for (const name of fx.outputs) {
    results.push(compareTensors(name, actual(fx, produced, name), tensor(name).data, LATENT_OUTPUT.test(name) ? latentsTolerance : fx.tolerance));
  }
  return results;
}

/** What the engine gave, under the fixture's tensor names. */
function producedTensors(fx: PipelineFixture, output: DiffusionOutput): Map<string, Float32Array | Int32Array> {
  const got = output.intermediates;
  if (!got) throw new FixtureError(fx.file, 'outputs', 'the engine returned no intermediate tensors (its executor does not record them), so the stored outputs cannot be checked');
  const produced = new Map<string, Float32Array | Int32Array>();
  // One row of ids per prompt: the fixture stores each prompt's ids once, [1, 77]. The negative
  // rows come first when the negative prompt was encoded (not for SDXL's zeros).
  const B = fx.numImages;
  const encodedNegative = got.inputIds.length / 77 > B;
  const row = (ids: Int32Array, r: number): Int32Array => ids.slice(r * 77, (r + 1) * 77);
  produced.set('input_ids', row(got.inputIds, encodedNegative ? B : 0));
  if (encodedNegative) produced.set('negative_input_ids', row(got.inputIds, 0));
  if (got.inputIds2) {
    produced.set('input_ids_2', row(got.inputIds2, encodedNegative ? B : 0));
    if (encodedNegative) produced.set('negative_input_ids_2', row(got.inputIds2, 0));
  }
  if (got.negativePromptEmbeds) produced.set('negative_prompt_embeds', got.negativePromptEmbeds);
  produced.set('prompt_embeds', got.promptEmbeds);
  if (got.pooledPromptEmbeds) produced.set('pooled_prompt_embeds', got.pooledPromptEmbeds);
  if (got.negativePooledPromptEmbeds) produced.set('negative_pooled_prompt_embeds', got.negativePooledPromptEmbeds);
  if (got.addTimeIds) produced.set('add_time_ids', got.addTimeIds);
  produced.set('initial_latents', got.initialLatents);
  got.unetOutputs.forEach((out, i) => produced.set(`unet_output_step_${i}`, out));
  const trajectory = output.trajectoryLatents ?? [];
  trajectory.forEach((latents, i) => produced.set(`latents_step_${i}`, latents));
  if (trajectory.length > 0) produced.set('final_latents', trajectory[trajectory.length - 1]!);
  produced.set('image', imagesToPlanar(output.images));
  return produced;
}

function actual(fx: PipelineFixture, produced: Map<string, Float32Array | Int32Array>, name: string): Float32Array | Int32Array {
  const value = produced.get(name);
  if (!value) throw new FixtureError(fx.file, fx.inputs.includes(name) ? 'inputs' : 'outputs', `names "${name}", which the engine run does not produce, so it cannot be checked`);
  return value;
}
