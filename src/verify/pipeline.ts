import { DiffusionEngine } from '../engine/engine.js';
import type { DiffusionImage } from '../engine/image.js';
import type { ExecutorSpec } from '../executors/spec.js';
import type { PipelineFixture } from '../io/fixture.js';
import { compareTensors, type CompareResult } from './compare.js';

/** Options of a pipeline fixture run. */
export interface PipelineRunOptions {
  /** Executor to run through (default `webgpu`). */
  executorClass?: ExecutorSpec;
  /** Extra config fields (e.g. `dtype`). */
  config?: Record<string, unknown>;
}

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
 * initial noise, and compares each step's latents, the final latents and the image. The image
 * comes back as RGBA8, so it carries up to 0.5/255 of rounding, well inside the tolerances.
 */
export async function runPipelineFixture(fx: PipelineFixture, dir: string, options: PipelineRunOptions = {}): Promise<CompareResult[]> {
  const io = await fx.readIo();
  const tensor = (name: string): Float32Array => {
    const t = io.get(name);
    if (!t) throw new Error(`${fx.file}: io.safetensors has no "${name}".`);
    return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
  };
  const engine = await DiffusionEngine.create({ executorClass: options.executorClass ?? 'webgpu', modelNameOrPath: dir, dtype: 'f32', ...options.config });
  try {
    const output = await engine.generate({
      prompt: fx.prompt,
      negativePrompt: fx.negativePrompt,
      guidanceScale: fx.guidanceScale,
      numInferenceSteps: fx.numInferenceSteps,
      height: fx.height,
      width: fx.width,
      numOutputsPerPrompt: fx.numImages,
      latents: tensor('initial_noise'),
      returnTrajectoryLatents: true,
      seed: 0,
    });
    const latentsTol = { maxAbs: fx.tolerance.latentsMaxAbs, maxRelL2: fx.tolerance.latentsMaxRelL2 };
    const results: CompareResult[] = [];
    const timesteps = output.trajectoryTimesteps ?? [];
    results.push(
      compareTensors(
        'timesteps',
        Float32Array.from(timesteps),
        Float32Array.from(fx.timesteps),
        { maxAbs: 1e-3, maxRelL2: 1e-6 },
      ),
    );
    (output.trajectoryLatents ?? []).forEach((latents, i) => {
      if (io.has(`latents_step_${i}`)) results.push(compareTensors(`latents_step_${i}`, latents, tensor(`latents_step_${i}`), latentsTol));
    });
    const last = output.trajectoryLatents?.at(-1);
    if (last) results.push(compareTensors('final_latents', last, tensor('final_latents'), latentsTol));
    results.push(compareTensors('image', imagesToPlanar(output.images), tensor('image'), fx.tolerance));
    return results;
  } finally {
    await engine.close();
  }
}
