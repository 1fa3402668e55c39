import type { JsonValue } from '../io/json.js';
import { noiseSchedule } from './betas.js';
import type { RawSchedulerConfig } from './config.js';
import { SchedulerConfigError } from './errors.js';
import { type HostTensor, linearCombination, runCombination, type Term } from './latents.js';
import {
  BaseScheduler,
  NOISE_SCHEDULE_DEFAULTS,
  readNoiseSchedule,
  type SchedulerOptions,
  type SchedulerStepOutput,
} from './scheduler.js';
import { npArangeDown, npLinspace, npRound, TIMESTEP_SPACINGS, type TimestepSpacing } from './timesteps.js';

const DEFAULTS: Readonly<Record<string, JsonValue>> = {
  ...NOISE_SCHEDULE_DEFAULTS,
  skip_prk_steps: false,
  set_alpha_to_one: false,
  timestep_spacing: 'leading',
};

const PNDM_ORDER = 4;
/** Linear multistep weights over the stored outputs, newest first (Adams–Bashforth orders 1–4). */
const PLMS_WEIGHTS: readonly (readonly number[])[] = [[1], [3 / 2, -1 / 2], [23 / 12, -16 / 12, 5 / 12], [55 / 24, -59 / 24, 37 / 24, -9 / 24]];

/**
 * diffusers' `PNDMScheduler` (Liu et al., 2022): Runge–Kutta warm-up steps (unless
 * `skip_prk_steps`), then linear multistep steps over up to four stored model outputs, which stay
 * on the backend as tensors.
 */
export class PNDMScheduler<T = HostTensor> extends BaseScheduler<T> {
  /** The config fields this class reads (its diffusers `__init__` arguments). */
  static readonly configKeys: ReadonlySet<string> = new Set(Object.keys(DEFAULTS));

  readonly alphasCumprod: Float64Array;
  readonly finalAlphaCumprod: number;
  readonly #numTrain: number;
  readonly #spacing: TimestepSpacing;
  readonly #stepsOffset: number;
  readonly #prediction: 'epsilon' | 'v_prediction';
  readonly #skipPrk: boolean;
  #prkTimesteps: number[] = [];
  #counter = 0;
  #ets: T[] = [];
  #curSample: T | null = null;
  #curModelOutput: T | null = null;

  constructor(config: RawSchedulerConfig = {}, options: SchedulerOptions<T> = {}) {
    super('PNDMScheduler', config, DEFAULTS, options);
    const r = this.reader;
    const schedule = readNoiseSchedule(r);
    this.#numTrain = schedule.numTrainTimesteps;
    this.alphasCumprod = noiseSchedule(schedule, false);
    this.finalAlphaCumprod = r.boolean('set_alpha_to_one') ? 1 : this.alphasCumprod[0]!;
    this.#spacing = r.choice('timestep_spacing', TIMESTEP_SPACINGS);
    this.#stepsOffset = r.number('steps_offset', { integer: true });
    this.#prediction = r.choice('prediction_type', ['epsilon', 'v_prediction']);
    this.#skipPrk = r.boolean('skip_prk_steps');
    this.timesteps = Array.from({ length: this.#numTrain }, (_, i) => this.#numTrain - 1 - i);
  }

  /** diffusers' `PNDMScheduler.from_config`. */
  static fromConfig<T = HostTensor>(config: RawSchedulerConfig, options: SchedulerOptions<T> = {}): PNDMScheduler<T> {
    return new PNDMScheduler<T>(config, options);
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = numInferenceSteps;
    const N = this.#numTrain;
    this.checkSteps(n, N);
    let base: number[];
    if (this.#spacing === 'linspace') base = npLinspace(0, N - 1, n).map(npRound);
    else if (this.#spacing === 'leading') base = Array.from({ length: n }, (_, i) => i * Math.floor(N / n) + this.#stepsOffset);
    else base = npArangeDown(N, 0, -N / n).map((t) => npRound(t) - 1).reverse();
    let plms: number[];
    if (this.#skipPrk) {
      this.#prkTimesteps = [];
      // The second-to-last timestep is repeated: PLMS' second step re-evaluates it (see `step`).
      plms = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)].reverse();
    } else {
      if (n < PNDM_ORDER) throw new SchedulerConfigError(this.className, 'num_inference_steps', n, `at least ${PNDM_ORDER} when skip_prk_steps is false`);
      const half = Math.floor(Math.floor(N / n) / 2);
      const pairs = base.slice(-PNDM_ORDER).flatMap((t) => [t, t + half]);
      const doubled = pairs.slice(0, -1).flatMap((t) => [t, t]);
      this.#prkTimesteps = doubled.slice(1, -1).reverse();
      plms = base.slice(0, -3).reverse();
    }
    this.dispose();
    this.numInferenceSteps = n;
    this.timesteps = [...this.#prkTimesteps, ...plms];
  }

  override dispose(): void {
    super.dispose();
    for (const e of this.#ets) this.backend.release(e);
    this.#ets = [];
    if (this.#curSample !== null) this.backend.release(this.#curSample);
    if (this.#curModelOutput !== null) this.backend.release(this.#curModelOutput);
    this.#curSample = null;
    this.#curModelOutput = null;
    this.#counter = 0;
  }

  addNoise(original: T, noise: T, t: number): T {
    return this.alphaAddNoise(this.alphasCumprod, original, noise, t);
  }

  step(modelOutput: T, t: number, sample: T): SchedulerStepOutput<T> {
    this.requireTimesteps();
    const prevSample = this.#skipPrk || this.#counter >= this.#prkTimesteps.length ? this.#stepPlms(modelOutput, t, sample) : this.#stepPrk(modelOutput, t, sample);
    this.#counter++;
    return { prevSample, predOriginalSample: null };
  }

  #copy(x: T): T {
    return linearCombination(this.backend, [[1, x]]);
  }

  #stepPrk(modelOutput: T, t: number, sample: T): T {
    const N = this.#numTrain;
    const n = this.numInferenceSteps!;
    const c = this.#counter;
    const prevT = t - (c % 2 ? 0 : Math.floor(Math.floor(N / n) / 2));
    const rkT = this.#prkTimesteps[Math.floor(c / 4) * 4]!;
    if (c % 4 === 0) {
      this.#ets.push(this.#copy(modelOutput));
      if (this.#curSample !== null) this.backend.release(this.#curSample);
      this.#curSample = this.#copy(sample);
    }
    const current = this.#curSample ?? sample;
    const acc = this.#curModelOutput;
    if (c % 4 === 3) {
      const effective: Term<T>[] = [[1, acc!], [1 / 6, modelOutput]];
      const [prev] = runCombination(this.backend, { outputs: [this.#prevTerms(current, rkT, prevT, effective)] });
      this.backend.release(acc!);
      this.#curModelOutput = null;
      return prev!;
    }
    // Runge–Kutta stages 1–3 step with the raw output while accumulating the weighted average (1/6, 1/3, 1/3, 1/6).
    const weight = c % 4 === 0 ? 1 / 6 : 1 / 3;
    const accTerms: Term<T>[] = acc === null ? [[weight, modelOutput]] : [[1, acc], [weight, modelOutput]];
    const [prev, nextAcc] = runCombination(this.backend, { outputs: [this.#prevTerms(current, rkT, prevT, [[1, modelOutput]]), accTerms] });
    if (acc !== null) this.backend.release(acc);
    this.#curModelOutput = nextAcc!;
    return prev!;
  }

  #stepPlms(modelOutput: T, t: number, sample: T): T {
    const N = this.#numTrain;
    const n = this.numInferenceSteps!;
    let timestep = t;
    let prevT = t - Math.floor(N / n);
    const append = this.#counter !== 1;
    if (!append) {
      prevT = t;
      timestep = t + Math.floor(N / n);
    } else {
      while (this.#ets.length > 3) this.backend.release(this.#ets.shift()!);
    }
    // With the new output counted, the history holds this many outputs; the newest is `modelOutput` itself.
    const history = append ? this.#ets.length + 1 : this.#ets.length;
    let current = sample;
    let effective: Term<T>[];
    let releaseCurSample = false;
    if (history === 1 && this.#counter === 0) {
      effective = [[1, modelOutput]];
      this.#curSample = this.#copy(sample);
    } else if (history === 1 && this.#counter === 1) {
      effective = [[0.5, modelOutput], [0.5, this.#ets[0]!]];
      current = this.#curSample!;
      releaseCurSample = true;
    } else {
      const weights = PLMS_WEIGHTS[Math.min(history, PNDM_ORDER) - 1]!;
      const past = this.#ets.slice().reverse();
      effective = weights.map((w, i) => [w, i === 0 ? modelOutput : past[i - 1]!] as const);
    }
    const outputs = [this.#prevTerms(current, timestep, prevT, effective)];
    if (append) outputs.push([[1, modelOutput]]);
    const [prev, stored] = runCombination(this.backend, { outputs });
    if (stored !== undefined) this.#ets.push(stored);
    if (releaseCurSample) {
      this.backend.release(this.#curSample!);
      this.#curSample = null;
    }
    return prev!;
  }

  /** `_get_prev_sample` (formula (9) of the PNDM paper) applied to `effective`, the combined model output. */
  #prevTerms(sample: T, t: number, prevT: number, effective: readonly Term<T>[]): Term<T>[] {
    const f32 = Math.fround;
    const alpha = this.alphasCumprod[this.trainIndex(t, this.#numTrain)]!;
    const alphaPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : this.finalAlphaCumprod;
    const beta = f32(1 - alpha);
    const betaPrev = f32(1 - alphaPrev);
    const sampleCoeff = f32(Math.sqrt(f32(alphaPrev / alpha)));
    const denom = f32(f32(alpha * f32(Math.sqrt(betaPrev))) + f32(Math.sqrt(f32(f32(alpha * beta) * alphaPrev))));
    const k = -f32(alphaPrev - alpha) / denom;
    const terms: Term<T>[] = [[sampleCoeff, sample]];
    // v-prediction: the effective output becomes √α·v + √β·x before the update.
    const [outScale, sampleFromOutput] = this.#prediction === 'v_prediction' ? [f32(Math.sqrt(alpha)), f32(Math.sqrt(beta))] : [1, 0];
    for (const [c, x] of effective) terms.push([k * c * outScale, x]);
    if (sampleFromOutput !== 0) terms.push([k * sampleFromOutput, sample]);
    return terms;
  }
}
