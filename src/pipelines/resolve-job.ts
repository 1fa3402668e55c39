import { readImageInput, type RgbaImageBytes } from '../api/image-input.js';
import { DEFAULT_STRENGTH, type DecoderKind, type DiffusionRequest, type DiffusionRequestData, type PromptSyntax } from '../api/request.js';
import { RequestValidationError } from '../api/errors.js';
import { fromRgbaImage } from './images.js';
import { takeLoraTags } from './lora/prompt-tags.js';
import type { ModelDefaults } from './model-defaults.js';
import { checkA1111Prompts } from './prompt-weighting/check-prompts.js';
import type { TextToImageJob } from './text-to-image.js';

/**
 * A request as a local executor resolves it: `DiffusionRequest.toJSON()`, with the init image
 * read into bytes of its own (`readImageInput`). It is also what crosses a worker boundary.
 */
export type JobRequest = Omit<DiffusionRequestData, 'image'> & { image?: RgbaImageBytes };

/**
 * A request's data as `resolveJob` takes it. An `ImageBitmap` is read here, which throws
 * `RequestValidationError` naming `image` where it cannot be (Node).
 */
export function jobRequestOf(request: DiffusionRequest): JobRequest {
  const { image, ...data } = request.toJSON();
  return image === undefined ? data : { ...data, image: readImageInput(image) };
}

/** What the executor running a job can do, for refusing a request it cannot honour by the field's name. */
export interface JobCapabilities {
  /** The executor's name, quoted in errors. */
  executor: string;
  /** Decoders the loaded model has (`taesd` only with a TAESD model). */
  decoders: readonly DecoderKind[];
  /** What to tell a request for a decoder the model lacks. */
  decoderHint?: string;
  /** Whether it runs img2img (`image`). */
  img2img: boolean;
  /** Why it does not, where the reason is the model's rather than the executor's (an `AutoencoderTiny` in `vae/`). */
  img2imgHint?: string;
  /** SDXL: a second text encoder and micro-conditioning, so `prompt2`, `negativePrompt2`, `originalSize`, `cropsCoordsTopLeft` and `targetSize` apply. */
  sdxl?: boolean;
  /** Whether it applies `loras` (the webgpu pipeline does). */
  lora?: boolean;
  /** Names of A1111 `<lora:name:w>` prompt tags (the engine's `loraNames`); tags are parsed only where LoRAs apply. */
  loraNames?: Readonly<Record<string, string>>;
  /**
   * Whether it reads `promptSyntax: 'a1111'` (emphasis and long prompts, lpw_stable_diffusion),
   * which is then the default; else prompts are `plain` and an explicit `a1111` is refused.
   */
  a1111Prompts?: boolean;
  /** Latent channels and the VAE's downscale, to check the size of `latents`. */
  latentChannels: number;
  vaeScaleFactor: number;
}

/**
 * Refuses, by the field's name (`RequestValidationError`), an init image, a decoder or a prompt
 * syntax the executor cannot honour. `resolveJob` checks every request with it; a pipeline checks the jobs
 * it is handed with it too, so a caller that builds a job without `resolveJob` gets the same error.
 */
export function checkCapabilities(job: { image?: unknown; decoder: DecoderKind; promptSyntax?: PromptSyntax | undefined }, c: JobCapabilities): void {
  if (job.promptSyntax === 'a1111' && !c.a1111Prompts) {
    throw new RequestValidationError('promptSyntax', job.promptSyntax, `'plain' or absent: the ${c.executor} executor does not read A1111 prompt syntax`);
  }
  if (job.image !== undefined && !c.img2img) {
    throw new RequestValidationError('image', job.image, `absent: ${c.img2imgHint ?? `the ${c.executor} executor runs text-to-image only`}`);
  }
  if (!c.decoders.includes(job.decoder)) {
    throw new RequestValidationError('decoder', job.decoder, `one of ${c.decoders.map((k) => `'${k}'`).join(', ')}${c.decoderHint ? ` (${c.decoderHint})` : ''}`);
  }
}

/** A job with its scheduler picked: what `StableDiffusionPipeline.generate` and `runTextToImage` run. */
export interface ResolvedJob extends TextToImageJob {
  /** The request's scheduler, else the model's. */
  scheduler: string;
  returnIntermediates: boolean;
}

/** The request fields only SDXL models take. */
const SDXL_FIELDS = ['prompt2', 'negativePrompt2', 'originalSize', 'cropsCoordsTopLeft', 'targetSize'] as const;

/**
 * The seed of a request that leaves it out. Below 2^32, so that a reported seed can be typed
 * back into any tool (A1111 and ComfyUI take unsigned 32-bit seeds).
 */
export function randomSeed(random: () => number = Math.random): number {
  return Math.floor(random() * 2 ** 32);
}

/**
 * The one place a request becomes a job, on every local executor (webgpu, multiproc and external
 * through the engine host, onnx in its own thread): fields left out take the model's `defaults`
 * (the size the init image's, with one), a missing seed is drawn by `randomSeed`, and a field the
 * executor cannot honour (`capabilities`) fails with `RequestValidationError` naming it, before any work.
 */
export function resolveJob(request: JobRequest, defaults: ModelDefaults, capabilities: JobCapabilities): ResolvedJob {
  const c = capabilities;
  const decoder = request.decoder ?? 'vae';
  const promptSyntax = request.promptSyntax ?? (c.a1111Prompts ? 'a1111' : 'plain');
  checkCapabilities({ image: request.image, decoder, promptSyntax }, c);
  if (!c.sdxl) {
    for (const field of SDXL_FIELDS) {
      const value = request[field];
      if (value != null) throw new RequestValidationError(field, value, `absent: it is SDXL's (a second text encoder and micro-conditioning), which this model does not have`);
    }
  }
  if (request.loras?.length && !c.lora) throw new RequestValidationError('loras', request.loras, `absent: the ${c.executor} executor does not apply LoRAs`);
  // A1111's <lora:name:w> tags leave the prompt and join the request's LoRAs.
  const tagged = c.lora ? takeLoraTags(request.prompt, c.loraNames ?? {}) : { prompt: request.prompt, loras: [] };
  const loras = [...(request.loras ?? []), ...tagged.loras];
  if (promptSyntax === 'a1111') checkA1111Prompts({ prompt: tagged.prompt, negativePrompt: request.negativePrompt, prompt2: request.prompt2, negativePrompt2: request.negativePrompt2 });
  const height = request.height ?? request.image?.height ?? defaults.height;
  const width = request.width ?? request.image?.width ?? defaults.width;
  const numImages = request.numOutputsPerPrompt;
  const shape = [numImages, c.latentChannels, height / c.vaeScaleFactor, width / c.vaeScaleFactor];
  const need = shape.reduce((a, b) => a * b, 1);
  if (request.latents !== undefined && request.latents.length !== need) {
    throw new RequestValidationError('latents', request.latents, `${need} values, the shape [${shape.join(', ')}] of the initial noise`);
  }
  if (request.stepNoise !== undefined && !request.stepNoise.every((n) => n.length === need)) {
    throw new RequestValidationError('stepNoise', request.stepNoise, `arrays of ${need} values each, the shape [${shape.join(', ')}] of the latents`);
  }
  return {
    prompt: tagged.prompt,
    negativePrompt: request.negativePrompt,
    promptSyntax,
    ...(c.sdxl
      ? {
          prompt2: request.prompt2 ?? null,
          negativePrompt2: request.negativePrompt2 ?? null,
          microConditioning: {
            originalSize: request.originalSize ?? [height, width],
            cropsCoordsTopLeft: request.cropsCoordsTopLeft ?? [0, 0],
            targetSize: request.targetSize ?? [height, width],
          },
        }
      : {}),
    numInferenceSteps: request.numInferenceSteps ?? defaults.steps,
    guidanceScale: request.guidanceScale ?? defaults.guidanceScale,
    height,
    width,
    seed: request.seed ?? randomSeed(),
    numImages,
    decoder,
    scheduler: request.scheduler ?? defaults.scheduler,
    returnTrajectoryLatents: request.returnTrajectoryLatents,
    returnIntermediates: request.returnIntermediates,
    ...(request.eta ? { eta: request.eta } : {}),
    ...(loras.length ? { loras } : {}),
    ...(request.latents !== undefined ? { latents: request.latents } : {}),
    ...(request.stepNoise !== undefined ? { stepNoise: request.stepNoise } : {}),
    ...(request.image !== undefined ? { init: { image: fromRgbaImage(request.image), strength: request.strength ?? DEFAULT_STRENGTH } } : {}),
  };
}
