import { RequestValidationError } from './errors.js';
import type { DiffusionImage } from './image.js';
import { type DiffusionImageInput, imageInputSize } from './image-input.js';

/** Progress of one request, reported once per denoising step. */
export interface DiffusionProgress {
  requestId: string;
  /** 1-based step just finished. */
  step: number;
  total: number;
  /** Milliseconds since the request started. */
  elapsedMs: number;
  /** A cheap preview of the current latents, when the executor makes one. */
  preview?: DiffusionImage;
}

/** Image decoder used at the end of the loop. */
export type DecoderKind = 'vae' | 'taesd';

/**
 * How prompts are read: `a1111` parses AUTOMATIC1111's emphasis (`(word)`, `[word]`,
 * `(word:1.3)`) and encodes up to 225 tokens in three 75-token windows, as diffusers' community
 * `lpw_stable_diffusion`; `plain` is `StableDiffusionPipeline`'s reading: the text as it is, cut
 * at 75 tokens.
 */
export type PromptSyntax = 'a1111' | 'plain';

/**
 * Where a LoRA file comes from: a URL, a local file path (Node), a Hub path
 * (`owner/repo/file.safetensors`), a `File`/`Blob`, or its bytes.
 */
export type LoraSource = string | Blob | ArrayBuffer | ArrayBufferView;

/** One LoRA of a request: its file and scale (default 1; 0 turns it off, negative inverts it). */
export interface LoraRequest {
  source: LoraSource;
  scale?: number;
  /** The text encoder's scale, when it differs from the UNet's `scale` (A1111's `<lora:name:te:unet>`). */
  textEncoderScale?: number;
}

/** Fields accepted by `new DiffusionRequest(...)` and by `DiffusionEngine.step`. */
export interface DiffusionRequestInit {
  prompt: string;
  negativePrompt?: string | null;
  /** SDXL: the prompt for the second text encoder (diffusers' `prompt_2`); left out or empty, `prompt`. Only for models with two text encoders. */
  prompt2?: string | null;
  /** SDXL: the negative prompt for the second text encoder (`negative_prompt_2`); left out or empty, `negativePrompt`. */
  negativePrompt2?: string | null;
  /**
   * LoRAs to apply to this request only, stacked in order, each at `scale` (default 1: diffusers'
   * `cross_attention_kwargs={"scale": …}`, which also scales a text-encoder LoRA). kohya/A1111 or
   * diffusers/PEFT `.safetensors`. The base weights are never changed, so the next request runs
   * without them (or with others) at no reload. A LoRA for another base model is refused whole.
   */
  loras?: readonly LoraRequest[];
  /**
   * SDXL micro-conditioning (diffusers' `original_size`), `[height, width]` in pixels: the size
   * the model is told the training image had. Left out, the output size. Only for SDXL models.
   */
  originalSize?: readonly [number, number];
  /** SDXL micro-conditioning (`crops_coords_top_left`), `[top, left]` in pixels (default `[0, 0]`): the crop the model is told about. */
  cropsCoordsTopLeft?: readonly [number, number];
  /** SDXL micro-conditioning (`target_size`), `[height, width]` in pixels. Left out, the output size. */
  targetSize?: readonly [number, number];
  /**
   * How `prompt` and `negativePrompt` are read (see `PromptSyntax`). Left out, `a1111` where the
   * model and executor support it (Stable Diffusion with one text encoder, on webgpu), else
   * `plain`; an explicit `a1111` elsewhere (SDXL, onnx) is refused.
   */
  promptSyntax?: PromptSyntax;
  /** Denoising steps; left out, the executor uses the model's default. */
  numInferenceSteps?: number;
  /** Classifier-free guidance scale; values <= 1 turn guidance off. */
  guidanceScale?: number;
  /** Left out: the init image's height with `image`, else the model's default. */
  height?: number;
  /** Left out: the init image's width with `image`, else the model's default. */
  width?: number;
  /** Seed of the first image; image i uses `seed + i`. Left out, a random seed is drawn and reported. */
  seed?: number;
  numOutputsPerPrompt?: number;
  /** Scheduler short name or class name (`euler`, `EulerDiscreteScheduler`, ...), overriding the model default. */
  scheduler?: string;
  /**
   * DDIM's eta (diffusers' `eta`), in [0, 1]: how much fresh noise each step adds, 0
   * deterministic (the default), 1 as much as DDPM. Noise comes from the image's seed. Only
   * `DDIMScheduler` has it: with another scheduler a request with eta > 0 fails naming `eta`.
   */
  eta?: number;
  requestId?: string;
  returnTrajectoryLatents?: boolean;
  /**
   * Also return the tensors between the networks (token ids, prompt embeddings, initial latents,
   * each step's raw UNet output) as `DiffusionOutput.intermediates`, for checking against a
   * reference pipeline. Each costs a readback; executors that cannot record them ignore it.
   */
  returnIntermediates?: boolean;
  /**
   * img2img (diffusers' `StableDiffusionImg2ImgPipeline`): the init image, RGBA pixels (a
   * `DiffusionImage`, an `ImageData`) or an `ImageBitmap`. Its sides must be multiples of 8 and
   * equal `width`/`height` when those are given. Alpha is ignored.
   */
  image?: DiffusionImageInput;
  /**
   * img2img: how far the init image is noised, in (0, 1] (default 0.8, as diffusers): the loop
   * runs the last `int(numInferenceSteps · strength)` steps of the schedule, so 1 keeps nothing
   * of the image's content but its latent statistics, and small values keep it nearly as is.
   * Only with `image`.
   */
  strength?: number;
  decoder?: DecoderKind;
  /**
   * Initial noise [numOutputsPerPrompt, C, height/8, width/8], standard normal, used instead of
   * drawing it from `seed` (diffusers' `latents` argument). It is scaled by the scheduler's
   * `initNoiseSigma` like drawn noise. Not with `image`.
   */
  latents?: Float32Array;
  /**
   * The noise a stochastic scheduler (Euler ancestral, LCM, DDIM with `eta`) draws at each step,
   * one Float32Array of [numOutputsPerPrompt, C, height/8, width/8] standard-normal values per
   * step, used instead of drawing it from `seed`: with `latents`, a reference run's exact
   * trajectory. Each must have the latents' size, with one per step that draws noise.
   */
  stepNoise?: readonly Float32Array[];
  /** Cancels this request; executors check it between steps and in flight. */
  signal?: AbortSignal;
  onProgress?: (progress: DiffusionProgress) => void;
}

/** img2img's `strength` when a request with an `image` leaves it out (diffusers' default). */
export const DEFAULT_STRENGTH = 0.8;

let nextRequestNumber = 0;

function checkFiniteNumber(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RequestValidationError(field, value, 'a finite number');
  }
}

function checkPositiveInt(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RequestValidationError(field, value, 'a positive integer');
  }
}

/** The largest side SDXL's micro-conditioning takes: far above any trained size, well inside f32's exact integers. */
const MAX_CONDITIONING_PIXELS = 65536;

/** A `[height, width]` or `[top, left]` pair of integer pixels, each at least `min`. */
function pixelPair(field: string, value: unknown, min: number): readonly [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || !value.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= MAX_CONDITIONING_PIXELS)) {
    throw new RequestValidationError(field, value, `two integers in [${min}, ${MAX_CONDITIONING_PIXELS}] (pixels)`);
  }
  return [value[0] as number, value[1] as number];
}

function checkSize(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value % 8 !== 0) {
    throw new RequestValidationError(field, value, 'a positive integer multiple of 8');
  }
}

/**
 * One text-to-image (or img2img) request. The constructor validates every field and throws
 * `RequestValidationError` naming the field and its value, so no work starts on bad input.
 */
export class DiffusionRequest implements DiffusionRequestInit {
  readonly prompt: string;
  readonly negativePrompt: string | null;
  readonly prompt2?: string | null;
  readonly negativePrompt2?: string | null;
  readonly loras?: readonly LoraRequest[];
  readonly originalSize?: readonly [number, number];
  readonly cropsCoordsTopLeft?: readonly [number, number];
  readonly targetSize?: readonly [number, number];
  readonly promptSyntax?: PromptSyntax;
  readonly numInferenceSteps?: number;
  readonly guidanceScale?: number;
  readonly height?: number;
  readonly width?: number;
  readonly seed?: number;
  readonly numOutputsPerPrompt: number;
  readonly scheduler?: string;
  readonly eta?: number;
  readonly requestId: string;
  readonly returnTrajectoryLatents: boolean;
  readonly returnIntermediates: boolean;
  readonly image?: DiffusionImageInput;
  readonly strength?: number;
  readonly decoder?: DecoderKind;
  readonly latents?: Float32Array;
  readonly stepNoise?: readonly Float32Array[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DiffusionProgress) => void;

  constructor(init: DiffusionRequestInit) {
    if (init === null || typeof init !== 'object') throw new RequestValidationError('(request)', init, 'an object');
    if (typeof init.prompt !== 'string') throw new RequestValidationError('prompt', init.prompt, 'a string');
    this.prompt = init.prompt;
    if (init.negativePrompt != null && typeof init.negativePrompt !== 'string') {
      throw new RequestValidationError('negativePrompt', init.negativePrompt, 'a string or null');
    }
    this.negativePrompt = init.negativePrompt ?? null;
    for (const field of ['prompt2', 'negativePrompt2'] as const) {
      const value = init[field];
      if (value === undefined) continue;
      if (value !== null && typeof value !== 'string') throw new RequestValidationError(field, value, 'a string or null');
      this[field] = value;
    }
    if (init.loras !== undefined) this.loras = checkLoras(init.loras);
    if (init.originalSize !== undefined) this.originalSize = pixelPair('originalSize', init.originalSize, 1);
    if (init.cropsCoordsTopLeft !== undefined) this.cropsCoordsTopLeft = pixelPair('cropsCoordsTopLeft', init.cropsCoordsTopLeft, 0);
    if (init.targetSize !== undefined) this.targetSize = pixelPair('targetSize', init.targetSize, 1);
    if (init.promptSyntax !== undefined) {
      if (init.promptSyntax !== 'a1111' && init.promptSyntax !== 'plain') throw new RequestValidationError('promptSyntax', init.promptSyntax, "'a1111' or 'plain'");
      this.promptSyntax = init.promptSyntax;
    }
    if (init.numInferenceSteps !== undefined) {
      checkPositiveInt('numInferenceSteps', init.numInferenceSteps);
      this.numInferenceSteps = init.numInferenceSteps;
    }
    if (init.guidanceScale !== undefined) {
      checkFiniteNumber('guidanceScale', init.guidanceScale);
      this.guidanceScale = init.guidanceScale;
    }
    if (init.height !== undefined) {
      checkSize('height', init.height);
      this.height = init.height;
    }
    if (init.width !== undefined) {
      checkSize('width', init.width);
      this.width = init.width;
    }
    if (init.image !== undefined) {
      const { width, height } = imageInputSize(init.image);
      if (width <= 0 || height <= 0 || width % 8 !== 0 || height % 8 !== 0) {
        throw new RequestValidationError('image', init.image, `an image whose sides are positive multiples of 8 (it is ${width}x${height})`);
      }
      if ((this.width ?? width) !== width || (this.height ?? height) !== height) {
        throw new RequestValidationError('image', init.image, `an image of the request's size ${this.width ?? width}x${this.height ?? height} (it is ${width}x${height})`);
      }
      this.image = init.image;
      this.width = width;
      this.height = height;
    }
    if (init.seed !== undefined) {
      if (typeof init.seed !== 'number' || !Number.isSafeInteger(init.seed) || init.seed < 0) {
        throw new RequestValidationError('seed', init.seed, 'a non-negative safe integer');
      }
      this.seed = init.seed;
    }
    if (init.numOutputsPerPrompt !== undefined) checkPositiveInt('numOutputsPerPrompt', init.numOutputsPerPrompt);
    this.numOutputsPerPrompt = init.numOutputsPerPrompt ?? 1;
    // Image i uses seed + i: the last one must still be a seed.
    if (this.seed !== undefined && !Number.isSafeInteger(this.seed + this.numOutputsPerPrompt - 1)) {
      throw new RequestValidationError('seed', this.seed, `at most ${Number.MAX_SAFE_INTEGER - this.numOutputsPerPrompt + 1} with ${this.numOutputsPerPrompt} images (image i uses seed + i)`);
    }
    if (init.scheduler !== undefined) {
      if (typeof init.scheduler !== 'string' || init.scheduler.length === 0) {
        throw new RequestValidationError('scheduler', init.scheduler, 'a non-empty scheduler name');
      }
      this.scheduler = init.scheduler;
    }
    if (init.eta !== undefined) {
      checkFiniteNumber('eta', init.eta);
      if (init.eta < 0 || init.eta > 1) throw new RequestValidationError('eta', init.eta, 'a number in [0, 1]');
      this.eta = init.eta;
    }
    if (init.requestId !== undefined && (typeof init.requestId !== 'string' || init.requestId.length === 0)) {
      throw new RequestValidationError('requestId', init.requestId, 'a non-empty string');
    }
    this.requestId = init.requestId ?? `req-${++nextRequestNumber}`;
    if (init.returnTrajectoryLatents !== undefined && typeof init.returnTrajectoryLatents !== 'boolean') {
      throw new RequestValidationError('returnTrajectoryLatents', init.returnTrajectoryLatents, 'a boolean');
    }
    this.returnTrajectoryLatents = init.returnTrajectoryLatents ?? false;
    if (init.returnIntermediates !== undefined && typeof init.returnIntermediates !== 'boolean') {
      throw new RequestValidationError('returnIntermediates', init.returnIntermediates, 'a boolean');
    }
    this.returnIntermediates = init.returnIntermediates ?? false;
    if (init.strength !== undefined) {
      checkFiniteNumber('strength', init.strength);
      if (init.strength <= 0 || init.strength > 1) throw new RequestValidationError('strength', init.strength, 'a number in (0, 1]');
      if (this.image === undefined) throw new RequestValidationError('strength', init.strength, 'absent without image (strength is how far img2img noises its init image)');
      this.strength = init.strength;
    }
    if (init.decoder !== undefined) {
      if (init.decoder !== 'vae' && init.decoder !== 'taesd') throw new RequestValidationError('decoder', init.decoder, "'vae' or 'taesd'");
      this.decoder = init.decoder;
    }
    if (init.latents !== undefined) {
      if (!(init.latents instanceof Float32Array) || init.latents.length === 0 || !init.latents.every(Number.isFinite)) {
        throw new RequestValidationError('latents', init.latents, 'a non-empty Float32Array of finite values');
      }
      if (this.image !== undefined) throw new RequestValidationError('latents', init.latents, 'absent with image (img2img draws its noise from seed)');
      this.latents = init.latents;
    }
    if (init.stepNoise !== undefined) {
      const noise: unknown = init.stepNoise;
      if (!Array.isArray(noise) || noise.length === 0 || !noise.every((n) => n instanceof Float32Array && n.length > 0 && n.every(Number.isFinite))) {
        throw new RequestValidationError('stepNoise', noise, 'a non-empty array of non-empty Float32Arrays of finite values, one per step');
      }
      if (this.image !== undefined) throw new RequestValidationError('stepNoise', noise, 'absent with image (img2img draws its noise from seed)');
      this.stepNoise = noise as Float32Array[];
    }
    if (init.signal !== undefined && !isAbortSignal(init.signal)) {
      throw new RequestValidationError('signal', init.signal, 'an AbortSignal');
    }
    this.signal = init.signal;
    if (init.onProgress !== undefined && typeof init.onProgress !== 'function') {
      throw new RequestValidationError('onProgress', init.onProgress, 'a function');
    }
    this.onProgress = init.onProgress;
  }

  /**
   * The request's plain data, without the signal and callback (which cannot be cloned). Every
   * data field is included by construction: this is what crosses a worker boundary, so a new
   * field reaches the engine host without a hand-written wire shape.
   */
  toJSON(): DiffusionRequestData {
    const { signal: _signal, onProgress: _onProgress, ...rest } = this;
    return rest;
  }
}

/** A validated request's data fields: `DiffusionRequest` without its signal, callback and methods. */
export type DiffusionRequestData = Omit<{ [K in keyof DiffusionRequest as DiffusionRequest[K] extends (...args: never[]) => unknown ? never : K]: DiffusionRequest[K] }, 'signal' | 'onProgress'>;

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

/** `loras` as given, checked: an array of `{ source, scale? }` with a usable source and a finite scale. */
function checkLoras(value: unknown): readonly LoraRequest[] {
  if (!Array.isArray(value)) throw new RequestValidationError('loras', value, 'an array of { source, scale? }');
  return value.map((entry: unknown, i) => {
    const field = `loras[${i}]`;
    if (entry === null || typeof entry !== 'object') throw new RequestValidationError(field, entry, '{ source, scale? }');
    const { source, scale, textEncoderScale } = entry as { source?: unknown; scale?: unknown; textEncoderScale?: unknown };
    const usable =
      (typeof source === 'string' && source.length > 0) ||
      (typeof Blob !== 'undefined' && source instanceof Blob) ||
      source instanceof ArrayBuffer ||
      ArrayBuffer.isView(source);
    if (!usable) throw new RequestValidationError(`${field}.source`, source, 'a URL, file path, Hub path (owner/repo/file.safetensors), File/Blob or bytes');
    for (const [name, value] of [['scale', scale], ['textEncoderScale', textEncoderScale]] as const) {
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) throw new RequestValidationError(`${field}.${name}`, value, 'a finite number');
    }
    return {
      source: source as LoraSource,
      ...(scale !== undefined ? { scale: scale as number } : {}),
      ...(textEncoderScale !== undefined ? { textEncoderScale: textEncoderScale as number } : {}),
    };
  });
}
