import type { JsonValue } from '../io/json.js';
import { noiseSchedule } from './betas.js';
import type { RawSchedulerConfig } from './config.js';
import { SchedulerConfigError } from './errors.js';
import { eulerInitNoiseSigma, eulerInputScale, fullLadder, sigmaLadder, type SigmaLadderOptions } from './sigma-ladder.js';
import { type HostTensor, linearCombination, runCombination, scaleTerms, type Term } from './latents.js';
import {
  BaseScheduler,
  NOISE_SCHEDULE_DEFAULTS,
  readNoiseSchedule,
  type SchedulerOptions,
  type SchedulerStepOptions,
  type SchedulerStepOutput,
} from './scheduler.js';
import { TIMESTEP_SPACINGS, type TimestepSpacing } from './timesteps.js';

const DEFAULTS: Readonly<Record<string, JsonValue>> = {
  ...NOISE_SCHEDULE_DEFAULTS,
  interpolation_type: 'linear',
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  sigma_min: null,
  sigma_max: null,
  timestep_spacing: 'linspace',
  timestep_type: 'discrete',
  rescale_betas_zero_snr: false,
  final_sigmas_type: 'zero',
};

/** Euler's stochastic-churn options (Karras et al. 2022, Algorithm 2); the defaults make the step deterministic. */
export interface EulerStepOptions<T> extends SchedulerStepOptions<T> {
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

/** diffusers' `EulerDiscreteScheduler` (Karras et al. 2022, Algorithm 2). */
export class EulerDiscreteScheduler<T = HostTensor> extends BaseScheduler<T> {
  /** The config fields this class reads (its diffusers `__init__` arguments). */
  static readonly configKeys: ReadonlySet<string> = new Set(Object.keys(DEFAULTS));

  readonly alphasCumprod: Float64Array;
  readonly #spacing: TimestepSpacing;
  readonly #ladder: SigmaLadderOptions;
  readonly #prediction: 'epsilon' | 'v_prediction' | 'sample' | 'original_sample';
  readonly #continuousTimesteps: boolean;

  constructor(config: RawSchedulerConfig = {}, options: SchedulerOptions<T> = {}) {
    super('EulerDiscreteScheduler', config, DEFAULTS, options);
    const r = this.reader;
    this.alphasCumprod = noiseSchedule(readNoiseSchedule(r), true);
    this.#spacing = r.choice('timestep_spacing', TIMESTEP_SPACINGS);
    this.#prediction = r.choice('prediction_type', ['epsilon', 'v_prediction', 'sample', 'original_sample']);
    if (r.boolean('use_beta_sigmas')) throw new SchedulerConfigError(this.className, 'use_beta_sigmas', true, 'false (beta sigmas are not implemented)');
    const karras = r.boolean('use_karras_sigmas');
    const exponential = r.boolean('use_exponential_sigmas');
    if (karras && exponential) throw new SchedulerConfigError(this.className, 'use_exponential_sigmas', true, 'false when use_karras_sigmas is true (only one respacing applies)');
    this.#ladder = {
      spacing: this.#spacing,
      stepsOffset: r.number('steps_offset', { integer: true }),
      interpolation: r.choice('interpolation_type', ['linear', 'log_linear']),
      respacing: karras ? 'karras' : exponential ? 'exponential' : 'none',
      sigmaMin: r.optionalNumber('sigma_min'),
      sigmaMax: r.optionalNumber('sigma_max'),
      finalSigma: r.choice('final_sigmas_type', ['zero', 'sigma_min']),
    };
    this.#continuousTimesteps = r.choice('timestep_type', ['discrete', 'continuous']) === 'continuous' && this.#prediction === 'v_prediction';
    const full = fullLadder(this.alphasCumprod);
    this.timesteps = full.timesteps;
    this.sigmas = full.sigmas;
  }

  /** diffusers' `EulerDiscreteScheduler.from_config`. */
  static fromConfig<T = HostTensor>(config: RawSchedulerConfig, options: SchedulerOptions<T> = {}): EulerDiscreteScheduler<T> {
    return new EulerDiscreteScheduler<T>(config, options);
  }

  override get initNoiseSigma(): number {
    return eulerInitNoiseSigma(this.sigmas!, this.#spacing);
  }

  setTimesteps(numInferenceSteps: number): void {
    this.checkSteps(numInferenceSteps, this.alphasCumprod.length);
    const ladder = sigmaLadder(this.alphasCumprod, numInferenceSteps, this.#ladder);
    this.sigmas = ladder.sigmas;
    // v-prediction models trained with continuous time take c_noise = ¼·ln σ (EDM) as the timestep.
    this.timesteps = this.#continuousTimesteps ? ladder.sigmas.slice(0, -1).map((s) => Math.fround(0.25 * Math.fround(Math.log(s)))) : ladder.timesteps;
    this.numInferenceSteps = numInferenceSteps;
    this.stepIndex = null;
    this.beginIndex = null;
  }

  /** `original + σ · noise`, σ at the begin index once img2img has set one (see `addNoiseIndex`). */
  addNoise(original: T, noise: T, t: number): T {
    return linearCombination(this.backend, [[1, original], [this.sigmas![this.addNoiseIndex(t)]!, noise]]);
  }

  override scaleModelInput(sample: T, t: number): T {
    const sigma = this.sigmas![this.currentStepIndex(t)]!;
    return linearCombination(this.backend, [[eulerInputScale(sigma), sample]]);
  }

  step(modelOutput: T, t: number, sample: T, options: EulerStepOptions<T> = {}): SchedulerStepOutput<T> {
    const f32 = Math.fround;
    const i = this.currentStepIndex(t);
    const sigmas = this.sigmas!;
    const sigma = sigmas[i]!;
    const { sChurn = 0, sTmin = 0, sTmax = Infinity, sNoise = 1 } = options;
    const gamma = sTmin <= sigma && sigma <= sTmax ? Math.min(sChurn / (sigmas.length - 1), 2 ** 0.5 - 1) : 0;
    const sigmaHat = f32(sigma * (gamma + 1));
    let x: Term<T>[] = [[1, sample]];
    let drawn: { noise: T; owned: boolean } | null = null;
    if (gamma > 0) {
      drawn = this.takeNoise(modelOutput, options);
      x = [...x, [sNoise * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma), drawn.noise]];
    }
    let x0: Term<T>[];
    if (this.#prediction === 'epsilon') x0 = [...x, [-sigmaHat, modelOutput]];
    else if (this.#prediction === 'v_prediction') {
      const s2 = f32(f32(sigma * sigma) + 1);
      x0 = [[-sigma / f32(Math.sqrt(s2)), modelOutput], ...scaleTerms(x, 1 / s2)];
    } else x0 = [[1, modelOutput]];
    // derivative = (x − x0)/σ̂, kept as terms so the update cancels symbolically, not in float32.
    const derivative = scaleTerms([...x, ...scaleTerms(x0, -1)], 1 / sigmaHat);
    const dt = f32(sigmas[i + 1]! - sigmaHat);
    const [prevSample, predOriginalSample] = runCombination(this.backend, { outputs: [[...x, ...scaleTerms(derivative, dt)], x0] });
    if (drawn?.owned) this.backend.release(drawn.noise);
    this.stepIndex = i + 1;
    return { prevSample: prevSample!, predOriginalSample: predOriginalSample! };
  }
}
