import type { JsonValue } from '../io/json.js';
import { type BetaSchedule, BETA_SCHEDULES, type NoiseScheduleConfig } from './betas.js';
import { type RawSchedulerConfig, SchedulerConfigReader, type SchedulerLogger } from './config.js';
import { SchedulerConfigError, SchedulerStateError } from './errors.js';
import { type HostTensor, hostLatents, type LatentBackend, linearCombination } from './latents.js';
import type { Rng } from './rng.js';

/** What a model predicts (`prediction_type`). */
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';

/** Construction options shared by every scheduler. */
export interface SchedulerOptions<T> {
  /** Where latents live. Defaults to the host (Float32Array) backend. */
  backend?: LatentBackend<T>;
  /** Receives warnings about ignored config fields. Defaults to `console.warn`. */
  logger?: SchedulerLogger;
}

/** Per-step options. Schedulers that draw noise take `noise` if given, else draw from `generator`. */
export interface SchedulerStepOptions<T> {
  /** The standard-normal tensor(s) the step draws, in draw order (at most one per step for these schedulers). */
  noise?: T;
  generator?: Rng;
}

/** The result of a step; both tensors belong to the caller. */
export interface SchedulerStepOutput<T> {
  prevSample: T;
  /** The predicted denoised sample (`denoised` for LCM), or null where diffusers returns none. */
  predOriginalSample: T | null;
}

/** The public surface every scheduler has (diffusers' `SchedulerMixin`, camelCase). */
export interface Scheduler<T = HostTensor> {
  /** The diffusers class name. */
  readonly className: string;
  /** The resolved config in diffusers' snake_case form, fit to pass to `createScheduler`. */
  readonly config: Readonly<Record<string, JsonValue>>;
  readonly timesteps: readonly number[];
  /** Sigmas including the appended final value, or null for schedulers without them. */
  readonly sigmas: readonly number[] | null;
  readonly initNoiseSigma: number;
  readonly numInferenceSteps: number | null;
  /** Whether `step` draws noise (needs `noise` or `generator`). */
  readonly drawsNoise: boolean;
  /** Model calls per step (diffusers' `order`): 1 for every scheduler here. */
  readonly order: number;
  setTimesteps(numInferenceSteps: number): void;
  /**
   * diffusers' `set_begin_index`: the schedule position of the first `step`, for pipelines that
   * start mid-schedule (img2img). Cleared by `setTimesteps` and `dispose`.
   */
  setBeginIndex(index: number): void;
  /**
   * diffusers' `add_noise`: `original` noised to timestep `t` with the standard-normal `noise`,
   * as a new tensor (img2img's starting latents).
   */
  addNoise(original: T, noise: T, t: number): T;
  /** The model input for timestep `t`; may return `sample` itself when no scaling applies. */
  scaleModelInput(sample: T, t: number): T;
  step(modelOutput: T, t: number, sample: T, options?: SchedulerStepOptions<T>): SchedulerStepOutput<T>;
  /** Releases multistep state tensors. The scheduler is reusable after `setTimesteps`. */
  dispose(): void;
}

/** The shared `__init__` defaults of the noise schedule (diffusers' common arguments). */
export const NOISE_SCHEDULE_DEFAULTS: Readonly<Record<string, JsonValue>> = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  prediction_type: 'epsilon',
  steps_offset: 0,
};

/**
 * Largest `num_train_timesteps` accepted. It sizes the beta and alpha tables, so a hostile
 * config could ask for gigabytes; every published scheduler uses 1000, so 100 000 is ample.
 */
export const MAX_TRAIN_TIMESTEPS = 100_000;

/** Reads the noise schedule fields every scheduler shares. */
export function readNoiseSchedule(reader: SchedulerConfigReader): NoiseScheduleConfig {
  const schedule: BetaSchedule = reader.choice('beta_schedule', BETA_SCHEDULES);
  const config: NoiseScheduleConfig = {
    numTrainTimesteps: reader.number('num_train_timesteps', { integer: true, min: 1, max: MAX_TRAIN_TIMESTEPS }),
    betaStart: reader.number('beta_start', { min: 0 }),
    betaEnd: reader.number('beta_end', { min: 0 }),
    betaSchedule: schedule,
    trainedBetas: reader.optionalNumbers('trained_betas'),
    rescaleBetasZeroSnr: Object.hasOwn(reader.values, 'rescale_betas_zero_snr') ? reader.boolean('rescale_betas_zero_snr') : false,
  };
  if (config.trainedBetas !== null && config.trainedBetas.length !== config.numTrainTimesteps) {
    throw new SchedulerConfigError(reader.className, 'trained_betas', config.trainedBetas.length, `${config.numTrainTimesteps} values (num_train_timesteps)`);
  }
  return config;
}

/** Base of the schedulers: config, backend, step counting and noise handling. */
export abstract class BaseScheduler<T> implements Scheduler<T> {
  readonly className: string;
  readonly config: Readonly<Record<string, JsonValue>>;
  timesteps: readonly number[] = [];
  sigmas: readonly number[] | null = null;
  numInferenceSteps: number | null = null;
  readonly drawsNoise: boolean = false;
  readonly order: number = 1;
  protected readonly backend: LatentBackend<T>;
  protected readonly reader: SchedulerConfigReader;
  /** Index into `timesteps` of the next step, fixed by the first `scaleModelInput`/`step` call. */
  protected stepIndex: number | null = null;
  /** Where the first step starts when a pipeline said so (`setBeginIndex`), else null. */
  protected beginIndex: number | null = null;

  protected constructor(className: string, raw: RawSchedulerConfig, defaults: Readonly<Record<string, JsonValue>>, options: SchedulerOptions<T>) {
    this.className = className;
    this.reader = new SchedulerConfigReader(className, raw, defaults, options.logger);
    this.config = { _class_name: className, ...this.reader.values };
    this.backend = (options.backend ?? hostLatents) as LatentBackend<T>;
  }

  get initNoiseSigma(): number {
    return 1;
  }

  abstract setTimesteps(numInferenceSteps: number): void;
  abstract step(modelOutput: T, t: number, sample: T, options?: SchedulerStepOptions<T>): SchedulerStepOutput<T>;
  abstract addNoise(original: T, noise: T, t: number): T;

  scaleModelInput(sample: T, _t: number): T {
    return sample;
  }

  setBeginIndex(index: number): void {
    this.requireTimesteps();
    if (!Number.isInteger(index) || index < 0 || index >= this.timesteps.length) {
      throw new SchedulerStateError(`${this.className}: begin index ${index} is outside the schedule of ${this.timesteps.length} timesteps.`);
    }
    this.beginIndex = index;
  }

  dispose(): void {
    this.stepIndex = null;
    this.beginIndex = null;
  }

  /** Validates `num_inference_steps` against the training schedule. */
  protected checkSteps(steps: number, numTrainTimesteps: number): void {
    if (!Number.isInteger(steps) || steps < 1) {
      throw new SchedulerConfigError(this.className, 'num_inference_steps', steps, 'an integer >= 1');
    }
    if (steps > numTrainTimesteps) {
      throw new SchedulerConfigError(this.className, 'num_inference_steps', steps, `at most num_train_timesteps = ${numTrainTimesteps}`);
    }
  }

  /** A training timestep used as a table index: an integer in [0, N). */
  protected trainIndex(t: number, numTrainTimesteps: number): number {
    if (!Number.isInteger(t) || t < 0 || t >= numTrainTimesteps) {
      throw new SchedulerStateError(`${this.className}: timestep ${t} is not an integer training timestep in [0, ${numTrainTimesteps}).`);
    }
    return t;
  }

  protected requireTimesteps(): void {
    if (this.numInferenceSteps === null) throw new SchedulerStateError(`${this.className}: call setTimesteps before scaleModelInput or step.`);
  }

  /**
   * Positions of `t` in the schedule. A timestep read back from text (a float32 written as its
   * shortest decimal) matches the float32 entry it denotes.
   */
  protected timestepPositions(t: number): number[] {
    const hits: number[] = [];
    const t32 = Math.fround(t);
    this.timesteps.forEach((v, i) => {
      if (v === t || v === t32) hits.push(i);
    });
    return hits;
  }

  /**
   * diffusers' `index_for_timestep`: the position of `t` in the schedule; when it occurs twice,
   * the second, so that a pipeline starting mid-schedule (img2img) does not skip a sigma.
   */
  protected indexForTimestep(t: number): number {
    const hits = this.timestepPositions(t);
    if (hits.length === 0) throw new SchedulerStateError(`${this.className}: timestep ${t} is not in the schedule [${this.timesteps.join(', ')}].`);
    return hits[hits.length > 1 ? 1 : 0]!;
  }

  /** The current step index, initialised on first use from the begin index, else from `t`. */
  protected currentStepIndex(t: number): number {
    this.requireTimesteps();
    if (this.stepIndex === null) this.stepIndex = this.beginIndex ?? this.indexForTimestep(t);
    return this.stepIndex;
  }

  /**
   * The schedule position `add_noise` reads its sigma from in the sigma-based schedulers: the
   * position of `t` without a begin index (training-style use), the current step once stepping
   * has begun (inpainting), else the begin index (img2img, before the first step).
   */
  protected addNoiseIndex(t: number): number {
    this.requireTimesteps();
    if (this.beginIndex === null) return this.indexForTimestep(t);
    return this.stepIndex ?? this.beginIndex;
  }

  /** `√ᾱ_t · original + √(1 − ᾱ_t) · noise` for the schedulers indexed by training timestep (DDIM, PNDM, LCM). */
  protected alphaAddNoise(alphasCumprod: Float64Array, original: T, noise: T, t: number): T {
    const alpha = alphasCumprod[this.trainIndex(t, alphasCumprod.length)]!;
    const f32 = Math.fround;
    return linearCombination(this.backend, [
      [f32(Math.sqrt(alpha)), original],
      [f32(Math.sqrt(f32(1 - alpha))), noise],
    ]);
  }

  /** The step's noise: the tensor passed in, or one drawn from the generator (then owned by this call). */
  protected takeNoise(like: T, options: SchedulerStepOptions<T> | undefined): { noise: T; owned: boolean } {
    if (options?.noise !== undefined) return { noise: options.noise, owned: false };
    if (options?.generator !== undefined) {
      const shape = this.backend.shapeOf(like);
      const n = shape.reduce((a, b) => a * b, 1);
      return { noise: this.backend.fromArray(options.generator.randn(n), shape), owned: true };
    }
    throw new SchedulerStateError(`${this.className}: this step draws noise; pass options.noise or options.generator.`);
  }
}
