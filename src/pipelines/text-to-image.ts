import type { DiffusionIntermediates } from '../api/output.js';
import type { DecoderKind, LoraRequest, PromptSyntax } from '../api/request.js';
import { AbortError, RequestValidationError } from '../api/errors.js';
import { linearCombination } from '../schedulers/latents.js';
import { Rng } from '../schedulers/rng.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import { setStrengthTimesteps, type StrengthSchedule } from '../schedulers/strength.js';
import type { DiffusionComponents } from './components.js';
import type { PromptEncoder, UNetConditioning } from './conditioning.js';
import { img2imgLatents, type Img2ImgInit } from './img2img-latents.js';
import type { MicroConditioning } from './sdxl-conditioning.js';

export type { PromptTokenizer } from './conditioning.js';

/** One text-to-image or img2img job, already validated and resolved against the model's defaults. */
export interface TextToImageJob {
  prompt: string;
  negativePrompt: string | null;
  /** How the prompts are read (see `PromptSyntax`); left out, `plain`. */
  promptSyntax?: PromptSyntax;
  /** SDXL: the prompt for `text_encoder_2` (diffusers' `prompt_2`); null or empty, `prompt`. */
  prompt2?: string | null;
  /** SDXL: the negative prompt for `text_encoder_2`; null or empty, `negativePrompt`. */
  negativePrompt2?: string | null;
  /** SDXL: the `add_time_ids` sizes; left out, diffusers' defaults for the job's size. */
  microConditioning?: MicroConditioning;
  numInferenceSteps: number;
  guidanceScale: number;
  height: number;
  width: number;
  /** Seed of image i is `seed + i`: its initial noise and any noise the scheduler draws. */
  seed: number;
  numImages: number;
  decoder: DecoderKind;
  returnTrajectoryLatents: boolean;
  /** Record the tensors between the networks (see `DiffusionIntermediates`); each is a readback. */
  returnIntermediates?: boolean;
  /** diffusers' `latents`: initial noise [B, C, h, w], used instead of drawing it (fixtures pass it). Text-to-image only. */
  latents?: Float32Array;
  /**
   * The noise a stochastic scheduler draws at each step ([B, C, h, w] each, standard normal),
   * used instead of drawing it from the seeds: a reference run's, to follow it step by step.
   */
  stepNoise?: readonly Float32Array[];
  /** img2img: start from this image, noised per `strength`, instead of pure noise. */
  init?: Img2ImgInit;
  /** How img2img's strength shortens the schedule: `lcm` for LCM-distilled UNets (default `truncate`). */
  strengthSchedule?: StrengthSchedule;
  /** DDIM's eta (default 0); above 0 only with a `DDIMScheduler`. */
  eta?: number;
  /** LoRAs applied for this job only (the pipeline attaches them around the whole job: text encoder and UNet). */
  loras?: readonly LoraRequest[];
  /**
   * The scheduler's short or class name, for callers that build one from it (the webgpu
   * pipeline); left out, the model's. `runTextToImage` itself takes the scheduler instance.
   */
  scheduler?: string;
}

/** Per-step hooks: progress, cancellation, preview. */
export interface TextToImageHooks<T> {
  signal?: AbortSignal;
  onStep?: (step: number, total: number, latents: T) => void | Promise<void>;
}

export interface TextToImageResult {
  /** [B, 3, H, W] in [0, 1], clamped. */
  images: Float32Array;
  trajectoryLatents: Float32Array[] | null;
  trajectoryTimesteps: number[];
  /** When `returnIntermediates` was set, else null. */
  intermediates: DiffusionIntermediates | null;
  seeds: number[];
  /** Wall time of the denoising loop alone. */
  loopMs: number;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error && signal.reason.name === 'AbortError' ? signal.reason : new AbortError('The request was aborted.');
}

/** Standard-normal noise, each image's slice from its own generator, so an image does not depend on its batch. */
export function drawNoise(rngs: readonly Rng[], perImage: number): Float32Array {
  const out = new Float32Array(rngs.length * perImage);
  rngs.forEach((rng, i) => out.set(rng.randn(perImage), i * perImage));
  return out;
}

/**
 * diffusers' `StableDiffusionPipeline.__call__` for text-to-image (`StableDiffusionXLPipeline`'s
 * with an SDXL `encodePrompt`): encode the prompt (and the negative prompt under
 * classifier-free guidance, as one batched call) with `encodePrompt`, run the
 * scheduler loop with one UNet call per step over [uncond, cond], and decode. With `job.init`
 * it is `StableDiffusionImg2ImgPipeline.__call__`: the same loop over the part of the schedule
 * that `strength` leaves, starting from the encoded, noised init image (see `img2imgLatents`).
 *
 * Nothing is read back inside the loop unless trajectory latents are asked for; every
 * intermediate tensor is released as soon as it is dead, also when the job is aborted.
 */
export async function runTextToImage<T>(
  components: DiffusionComponents<T>,
  encodePrompt: PromptEncoder<T>,
  scheduler: Scheduler<T>,
  job: TextToImageJob,
  hooks: TextToImageHooks<T> = {},
): Promise<TextToImageResult> {
  const lat = components.latents;
  const B = job.numImages;
  const cfg = job.guidanceScale > 1;
  const h = job.height / components.vaeScaleFactor;
  const w = job.width / components.vaeScaleFactor;
  const shape = [B, components.latentChannels, h, w] as const;
  const perImage = components.latentChannels * h * w;
  const seeds = Array.from({ length: B }, (_, i) => job.seed + i);
  const live = new Set<T>();
  const keep = (t: T): T => {
    live.add(t);
    return t;
  };
  const drop = (t: T): void => {
    if (live.delete(t)) lat.release(t);
  };

  const eta = job.eta ?? 0;

  try {
    throwIfAborted(hooks.signal);
    if (eta > 0 && scheduler.className !== 'DDIMScheduler') {
      throw new RequestValidationError('eta', eta, `0 with ${scheduler.className} (only DDIMScheduler adds noise by eta; pick scheduler "ddim")`);
    }
    // `resolveJob` checks a request's latents; a job built without it (tools, tests) gets the same error, before any work.
    if (job.latents && !job.init && job.latents.length !== B * perImage) {
      throw new RequestValidationError('latents', job.latents, `${B * perImage} values, the shape [${shape.join(', ')}] of the initial noise`);
    }
    // img2img's schedule comes first, so a strength that leaves no step fails before any GPU work.
    const img2imgTimesteps = job.init ? setStrengthTimesteps(scheduler, job.numInferenceSteps, job.init.strength, job.strengthSchedule) : null;
    const conditioning = await encodePrompt(job, cfg);
    keep(conditioning.encoderHiddenStates);
    if (conditioning.textEmbeds) keep(conditioning.textEmbeds);
    const intermediates = job.returnIntermediates ? await recordConditioning(lat, conditioning, cfg) : null;

    // One generator per image, as diffusers does with a list of generators: it draws the
    // initial noise, then any noise the scheduler needs, so an image depends only on its seed.
    const rngs = seeds.map((s) => new Rng(s));
    let latents: T;
    let timesteps: number[];
    if (job.init && img2imgTimesteps) {
      timesteps = img2imgTimesteps;
      latents = keep(await img2imgLatents(components, scheduler, job.init, rngs, shape, timesteps[0]!));
    } else {
      scheduler.setTimesteps(job.numInferenceSteps);
      const noise = job.latents ?? drawNoise(rngs, perImage);
      const scaled = Float32Array.from(noise, (v) => v * scheduler.initNoiseSigma);
      latents = keep(lat.fromArray(scaled, shape));
      timesteps = [...scheduler.timesteps];
    }
    if (intermediates) intermediates.initialLatents = await lat.toArray(latents);
    const trajectory: Float32Array[] | null = job.returnTrajectoryLatents ? [] : null;
    const loopStart = performance.now();

    for (let i = 0; i < timesteps.length; i++) {
      throwIfAborted(hooks.signal);
      const t = timesteps[i]!;
      const doubled = cfg ? keep(components.concatBatch(latents, latents)) : latents;
      const input = scheduler.scaleModelInput(doubled, t);
      if (input !== doubled) keep(input);
      const raw = keep(await components.unet(input, t, conditioning));
      if (intermediates) intermediates.unetOutputs.push(await lat.toArray(raw));
      if (input !== doubled) drop(input);
      if (doubled !== latents) drop(doubled);
      let eps = raw;
      if (cfg) {
        const uncond = keep(components.sliceBatch(raw, 0, B));
        const cond = keep(components.sliceBatch(raw, B, 2 * B));
        drop(raw);
        eps = keep(linearCombination(lat, [
          [1 - job.guidanceScale, uncond],
          [job.guidanceScale, cond],
        ]));
        drop(uncond);
        drop(cond);
      }
      const stepNoise = scheduler.drawsNoise || eta > 0 ? keep(lat.fromArray(givenNoise(job, i, B * perImage) ?? drawNoise(rngs, perImage), shape)) : undefined;
      const { prevSample, predOriginalSample } = scheduler.step(eps, t, latents, { ...(stepNoise ? { noise: stepNoise } : {}), ...(eta > 0 ? { eta } : {}) });
      if (predOriginalSample) lat.release(predOriginalSample);
      if (stepNoise) drop(stepNoise);
      drop(eps);
      drop(latents);
      latents = keep(prevSample);
      if (trajectory) trajectory.push(await lat.toArray(latents));
      await hooks.onStep?.(i + 1, timesteps.length, latents);
    }

    const loopMs = performance.now() - loopStart;
    throwIfAborted(hooks.signal);
    const decoded = keep(await components.decode(latents, job.decoder));
    const pixels = await lat.toArray(decoded);
    for (let k = 0; k < pixels.length; k++) pixels[k] = Math.min(1, Math.max(0, pixels[k]!));
    return { images: pixels, trajectoryLatents: trajectory, trajectoryTimesteps: timesteps, intermediates, seeds, loopMs };
  } finally {
    for (const t of live) lat.release(t);
    scheduler.dispose();
  }
}

/** Step `i`'s noise from `job.stepNoise`, checked against the latents' size; undefined when the job gives none. */
function givenNoise(job: TextToImageJob, i: number, size: number): Float32Array | undefined {
  if (!job.stepNoise) return undefined;
  const noise = job.stepNoise[i];
  if (!noise || noise.length !== size) {
    throw new RequestValidationError('stepNoise', job.stepNoise, `one array of ${size} values (the latents' size) for each step the scheduler draws noise at, step ${i} included`);
  }
  return noise;
}

/** The conditioning as `DiffusionIntermediates` record it: rows split into the negative and the prompt halves. */
async function recordConditioning<T>(lat: DiffusionComponents<T>['latents'], c: UNetConditioning<T>, cfg: boolean): Promise<DiffusionIntermediates> {
  const split = async (x: T): Promise<[Float32Array, Float32Array | null]> => {
    const all = await lat.toArray(x);
    const half = cfg ? all.length / 2 : 0;
    return [all.slice(half), cfg ? all.slice(0, half) : null];
  };
  const [promptEmbeds, negativePromptEmbeds] = await split(c.encoderHiddenStates);
  const out: DiffusionIntermediates = { inputIds: Int32Array.from(c.inputIds), promptEmbeds, negativePromptEmbeds, initialLatents: new Float32Array(0), unetOutputs: [] };
  if (c.inputIds2) out.inputIds2 = Int32Array.from(c.inputIds2);
  if (c.textEmbeds) [out.pooledPromptEmbeds, out.negativePooledPromptEmbeds] = await split(c.textEmbeds);
  if (c.timeIds) out.addTimeIds = Float32Array.from(c.timeIds);
  return out;
}
