import type { JsonValue } from '../io/json.js';
import { noiseSchedule } from './betas.js';
import type { RawSchedulerConfig } from './config.js';
import { SchedulerConfigError } from './errors.js';
import { type HostTensor, runCombination, type Term, Y } from './latents.js';
import { alphaX0Terms } from './prediction.js';
import {
  BaseScheduler,
  NOISE_SCHEDULE_DEFAULTS,
  readNoiseSchedule,
  type SchedulerOptions,
  type SchedulerStepOptions,
  type SchedulerStepOutput,
} from './scheduler.js';
import { requireNoThresholding } from './thresholding.js';
import { npLinspace } from './timesteps.js';

const DEFAULTS: Readonly<Record<string, JsonValue>> = {
  ...NOISE_SCHEDULE_DEFAULTS,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  original_inference_steps: 50,
  clip_sample: false,
  clip_sample_range: 1.0,
  set_alpha_to_one: true,
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  timestep_scaling: 10.0,
  rescale_betas_zero_snr: false,
};

/** The consistency models' data standard deviation (`sigma_data`). */
const SIGMA_DATA = 0.5;

/**
 * diffusers' `LCMScheduler` (Luo et al. 2023): each step predicts the denoised sample through the
 * consistency boundary condition, then re-noises it to the next timestep (one standard-normal
 * tensor per step, none on the last). Timesteps are a subset of the `original_inference_steps`
 * schedule the model was distilled on; `timestep_spacing` and `steps_offset` do not apply.
 */
export class LCMScheduler<T = HostTensor> extends BaseScheduler<T> {
  /** The config fields this class reads (its diffusers `__init__` arguments). */
  static readonly configKeys: ReadonlySet<string> = new Set(Object.keys(DEFAULTS));

  override readonly drawsNoise = true;
  readonly alphasCumprod: Float64Array;
  readonly finalAlphaCumprod: number;
  readonly #numTrain: number;
  readonly #originalSteps: number;
  readonly #prediction: 'epsilon' | 'v_prediction' | 'sample';
  readonly #clip: readonly [number, number] | null;
  readonly #timestepScaling: number;

  constructor(config: RawSchedulerConfig = {}, options: SchedulerOptions<T> = {}) {
    super('LCMScheduler', config, DEFAULTS, options);
    const r = this.reader;
    const schedule = readNoiseSchedule(r);
    this.#numTrain = schedule.numTrainTimesteps;
    this.alphasCumprod = noiseSchedule(schedule, false);
    this.finalAlphaCumprod = r.boolean('set_alpha_to_one') ? 1 : this.alphasCumprod[0]!;
    this.#originalSteps = r.number('original_inference_steps', { integer: true, min: 1 });
    if (this.#originalSteps > this.#numTrain) {
      throw new SchedulerConfigError(this.className, 'original_inference_steps', this.#originalSteps, `at most num_train_timesteps = ${this.#numTrain}`);
    }
    this.#prediction = r.choice('prediction_type', ['epsilon', 'v_prediction', 'sample']);
    requireNoThresholding(r);
    const range = r.number('clip_sample_range', { positive: true });
    this.#clip = r.boolean('clip_sample') ? [-range, range] : null;
    this.#timestepScaling = r.number('timestep_scaling');
    this.timesteps = Array.from({ length: this.#numTrain }, (_, i) => this.#numTrain - 1 - i);
  }

  /** diffusers' `LCMScheduler.from_config`. */
  static fromConfig<T = HostTensor>(config: RawSchedulerConfig, options: SchedulerOptions<T> = {}): LCMScheduler<T> {
    return new LCMScheduler<T>(config, options);
  }

  /**
   * `strength` < 1 (LCM img2img) keeps only the first `int(original_inference_steps · strength)`
   * entries of the distillation schedule, the low-noise end, and spreads the `n` steps over them,
   * as diffusers' `LatentConsistencyModelImg2ImgPipeline` does: every step still runs.
   */
  setTimesteps(numInferenceSteps: number, options: { strength?: number } = {}): void {
    const n = numInferenceSteps;
    this.checkSteps(n, this.#numTrain);
    const original = this.#originalSteps;
    const strength = options.strength ?? 1;
    if (!(strength > 0 && strength <= 1)) throw new SchedulerConfigError(this.className, 'strength', strength, 'a number in (0, 1]');
    const kept = Math.floor(original * strength);
    if (n > original) {
      throw new SchedulerConfigError(this.className, 'num_inference_steps', n, `at most original_inference_steps = ${original} (the schedule is a subset of that one)`);
    }
    if (kept < n) {
      throw new SchedulerConfigError(
        this.className,
        'strength',
        strength,
        `at least num_inference_steps / original_inference_steps = ${n}/${original}, so that ${n} steps fit in the int(${original} · strength) = ${kept} distillation timesteps kept`,
      );
    }
    const k = Math.floor(this.#numTrain / original);
    // The kept distillation schedule k-1, 2k-1, …, descending; n of its entries are taken at evenly spaced positions.
    const origin = Array.from({ length: kept }, (_, i) => (kept - i) * k - 1);
    const positions = npLinspace(0, kept, n + 1).slice(0, n).map(Math.floor);
    this.timesteps = positions.map((p) => origin[p]!);
    this.numInferenceSteps = n;
    this.stepIndex = null;
    this.beginIndex = null;
  }

  addNoise(original: T, noise: T, t: number): T {
    return this.alphaAddNoise(this.alphasCumprod, original, noise, t);
  }

  /** `get_scalings_for_boundary_condition_discrete`: `c_skip`, `c_out` at timestep `t` (float32). */
  boundaryScalings(t: number): { cSkip: number; cOut: number } {
    const f32 = Math.fround;
    const scaled = f32(t * this.#timestepScaling);
    const s2 = f32(f32(scaled * scaled) + SIGMA_DATA ** 2);
    return { cSkip: f32(SIGMA_DATA ** 2 / s2), cOut: f32(scaled / f32(Math.sqrt(s2))) };
  }

  step(modelOutput: T, t: number, sample: T, options: SchedulerStepOptions<T> = {}): SchedulerStepOutput<T> {
    const i = this.currentStepIndex(t);
    const prevT = i + 1 < this.timesteps.length ? this.timesteps[i + 1]! : t;
    const alpha = this.alphasCumprod[this.trainIndex(t, this.#numTrain)]!;
    const alphaPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : this.finalAlphaCumprod;
    const beta = Math.fround(1 - alpha);
    const betaPrev = Math.fround(1 - alphaPrev);
    const { cSkip, cOut } = this.boundaryScalings(t);
    const denoised: Term<T>[] = [[cOut, Y], [cSkip, sample]];
    let prev: Term<T>[] = denoised;
    let drawn: { noise: T; owned: boolean } | null = null;
    if (i !== this.numInferenceSteps! - 1) {
      drawn = this.takeNoise(modelOutput, options);
      const sa = Math.fround(Math.sqrt(alphaPrev));
      prev = [[sa * cOut, Y], [sa * cSkip, sample], [Math.fround(Math.sqrt(betaPrev)), drawn.noise]];
    }
    const [prevSample, denoisedOut] = runCombination(this.backend, {
      y: alphaX0Terms(this.#prediction, alpha, beta, sample, modelOutput),
      clip: this.#clip,
      outputs: [prev, denoised],
    });
    if (drawn?.owned) this.backend.release(drawn.noise);
    this.stepIndex = i + 1;
    return { prevSample: prevSample!, predOriginalSample: denoisedOut! };
  }
}
