import type { JsonValue } from '../io/json.js';
import { noiseSchedule } from './betas.js';
import type { RawSchedulerConfig } from './config.js';
import { type HostTensor, runCombination, scaleTerms, type Term, Y } from './latents.js';
import { alphaEpsilonTerms, alphaX0Terms } from './prediction.js';
import {
  BaseScheduler,
  NOISE_SCHEDULE_DEFAULTS,
  type PredictionType,
  readNoiseSchedule,
  type SchedulerOptions,
  type SchedulerStepOptions,
  type SchedulerStepOutput,
} from './scheduler.js';
import { requireNoThresholding } from './thresholding.js';
import { spacedTimesteps, TIMESTEP_SPACINGS, type TimestepSpacing } from './timesteps.js';

const DEFAULTS: Readonly<Record<string, JsonValue>> = {
  ...NOISE_SCHEDULE_DEFAULTS,
  clip_sample: true,
  set_alpha_to_one: true,
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  rescale_betas_zero_snr: false,
};

/** DDIM's extra step options. */
export interface DDIMStepOptions<T> extends SchedulerStepOptions<T> {
  /** Weight of the added noise (0 = deterministic DDIM, 1 = DDPM-like). Noise is drawn only when > 0. */
  eta?: number;
  /** Recompute the noise from the clipped x0, as diffusers' `use_clipped_model_output`. */
  useClippedModelOutput?: boolean;
}

/** diffusers' `DDIMScheduler` (Song et al., 2020), deterministic unless `eta > 0`. */
export class DDIMScheduler<T = HostTensor> extends BaseScheduler<T> {
  /** The config fields this class reads (its diffusers `__init__` arguments). */
  static readonly configKeys: ReadonlySet<string> = new Set(Object.keys(DEFAULTS));

  readonly alphasCumprod: Float64Array;
  readonly finalAlphaCumprod: number;
  readonly #numTrain: number;
  readonly #spacing: TimestepSpacing;
  readonly #stepsOffset: number;
  readonly #prediction: PredictionType;
  readonly #clip: readonly [number, number] | null;

  constructor(config: RawSchedulerConfig = {}, options: SchedulerOptions<T> = {}) {
    super('DDIMScheduler', config, DEFAULTS, options);
    const r = this.reader;
    const schedule = readNoiseSchedule(r);
    this.#numTrain = schedule.numTrainTimesteps;
    this.alphasCumprod = noiseSchedule(schedule, false);
    this.finalAlphaCumprod = r.boolean('set_alpha_to_one') ? 1 : this.alphasCumprod[0]!;
    this.#spacing = r.choice('timestep_spacing', TIMESTEP_SPACINGS);
    this.#stepsOffset = r.number('steps_offset', { integer: true });
    this.#prediction = r.choice('prediction_type', ['epsilon', 'v_prediction', 'sample']);
    requireNoThresholding(r);
    const range = r.number('clip_sample_range', { positive: true });
    this.#clip = r.boolean('clip_sample') ? [-range, range] : null;
    this.timesteps = Array.from({ length: this.#numTrain }, (_, i) => this.#numTrain - 1 - i);
  }

  /** diffusers' `DDIMScheduler.from_config`. */
  static fromConfig<T = HostTensor>(config: RawSchedulerConfig, options: SchedulerOptions<T> = {}): DDIMScheduler<T> {
    return new DDIMScheduler<T>(config, options);
  }

  setTimesteps(numInferenceSteps: number): void {
    this.checkSteps(numInferenceSteps, this.#numTrain);
    this.numInferenceSteps = numInferenceSteps;
    this.timesteps = spacedTimesteps(this.#spacing, this.#numTrain, numInferenceSteps, this.#stepsOffset, false);
  }

  addNoise(original: T, noise: T, t: number): T {
    return this.alphaAddNoise(this.alphasCumprod, original, noise, t);
  }

  step(modelOutput: T, t: number, sample: T, options: DDIMStepOptions<T> = {}): SchedulerStepOutput<T> {
    this.requireTimesteps();
    const n = this.numInferenceSteps!;
    const prevT = t - Math.floor(this.#numTrain / n);
    const alpha = this.alphasCumprod[this.trainIndex(t, this.#numTrain)]!;
    const alphaPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : this.finalAlphaCumprod;
    const beta = Math.fround(1 - alpha);
    const betaPrev = Math.fround(1 - alphaPrev);
    const eta = options.eta ?? 0;
    const variance = (betaPrev / beta) * (1 - alpha / alphaPrev);
    const std = eta * Math.sqrt(variance);

    let epsilon: Term<T>[] = alphaEpsilonTerms(this.#prediction, alpha, beta, sample, modelOutput);
    if (options.useClippedModelOutput) {
      const sb = Math.fround(Math.sqrt(beta));
      epsilon = [[1 / sb, sample], [-Math.fround(Math.sqrt(alpha)) / sb, Y]];
    }
    const prev: Term<T>[] = [[Math.sqrt(alphaPrev), Y], ...scaleTerms(epsilon, Math.sqrt(1 - alphaPrev - std * std))];
    let drawn: { noise: T; owned: boolean } | null = null;
    if (eta > 0) {
      drawn = this.takeNoise(modelOutput, options);
      prev.push([std, drawn.noise]);
    }
    const [prevSample, x0] = runCombination(this.backend, {
      y: alphaX0Terms(this.#prediction, alpha, beta, sample, modelOutput),
      clip: this.#clip,
      outputs: [prev, [[1, Y]]],
    });
    if (drawn?.owned) this.backend.release(drawn.noise);
    return { prevSample: prevSample!, predOriginalSample: x0! };
  }
}
