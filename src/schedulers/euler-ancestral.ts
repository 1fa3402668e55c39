import type { JsonValue } from '../io/json.js';
import { noiseSchedule } from './betas.js';
import type { RawSchedulerConfig } from './config.js';
import { eulerInitNoiseSigma, eulerInputScale, fullLadder, sigmaLadder } from './sigma-ladder.js';
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
  timestep_spacing: 'linspace',
  rescale_betas_zero_snr: false,
};

/**
 * diffusers' `EulerAncestralDiscreteScheduler`: an Euler step down to `σ_down`, then fresh noise
 * of standard deviation `σ_up` (one standard-normal tensor per step, the last step included).
 */
export class EulerAncestralDiscreteScheduler<T = HostTensor> extends BaseScheduler<T> {
  /** The config fields this class reads (its diffusers `__init__` arguments). */
  static readonly configKeys: ReadonlySet<string> = new Set(Object.keys(DEFAULTS));

  override readonly drawsNoise = true;
  readonly alphasCumprod: Float64Array;
  readonly #spacing: TimestepSpacing;
  readonly #stepsOffset: number;
  readonly #prediction: 'epsilon' | 'v_prediction';

  constructor(config: RawSchedulerConfig = {}, options: SchedulerOptions<T> = {}) {
    super('EulerAncestralDiscreteScheduler', config, DEFAULTS, options);
    const r = this.reader;
    this.alphasCumprod = noiseSchedule(readNoiseSchedule(r), true);
    this.#spacing = r.choice('timestep_spacing', TIMESTEP_SPACINGS);
    this.#stepsOffset = r.number('steps_offset', { integer: true });
    this.#prediction = r.choice('prediction_type', ['epsilon', 'v_prediction']);
    const full = fullLadder(this.alphasCumprod);
    this.timesteps = full.timesteps;
    this.sigmas = full.sigmas;
  }

  /** diffusers' `EulerAncestralDiscreteScheduler.from_config`. */
  static fromConfig<T = HostTensor>(config: RawSchedulerConfig, options: SchedulerOptions<T> = {}): EulerAncestralDiscreteScheduler<T> {
    return new EulerAncestralDiscreteScheduler<T>(config, options);
  }

  override get initNoiseSigma(): number {
    return eulerInitNoiseSigma(this.sigmas!, this.#spacing);
  }

  setTimesteps(numInferenceSteps: number): void {
    this.checkSteps(numInferenceSteps, this.alphasCumprod.length);
    const ladder = sigmaLadder(this.alphasCumprod, numInferenceSteps, {
      spacing: this.#spacing,
      stepsOffset: this.#stepsOffset,
      interpolation: 'linear',
      respacing: 'none',
      sigmaMin: null,
      sigmaMax: null,
      finalSigma: 'zero',
    });
    this.sigmas = ladder.sigmas;
    this.timesteps = ladder.timesteps;
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

  step(modelOutput: T, t: number, sample: T, options: SchedulerStepOptions<T> = {}): SchedulerStepOutput<T> {
    const f32 = Math.fround;
    const i = this.currentStepIndex(t);
    const sigma = this.sigmas![i]!;
    const sigmaTo = this.sigmas![i + 1]!;
    let x0: Term<T>[];
    if (this.#prediction === 'epsilon') x0 = [[1, sample], [-sigma, modelOutput]];
    else {
      const s2 = f32(f32(sigma * sigma) + 1);
      x0 = [[-sigma / f32(Math.sqrt(s2)), modelOutput], [1 / s2, sample]];
    }
    const from2 = f32(sigma * sigma);
    const to2 = f32(sigmaTo * sigmaTo);
    const sigmaUp = f32(Math.sqrt(f32(f32(to2 * f32(from2 - to2)) / from2)));
    const sigmaDown = f32(Math.sqrt(f32(to2 - f32(sigmaUp * sigmaUp))));
    const dt = f32(sigmaDown - sigma);
    const derivative = scaleTerms([[1, sample], ...scaleTerms(x0, -1)], 1 / sigma);
    const { noise, owned } = this.takeNoise(modelOutput, options);
    const prev: Term<T>[] = [[1, sample], ...scaleTerms(derivative, dt), [sigmaUp, noise]];
    const [prevSample, predOriginalSample] = runCombination(this.backend, { outputs: [prev, x0] });
    if (owned) this.backend.release(noise);
    this.stepIndex = i + 1;
    return { prevSample: prevSample!, predOriginalSample: predOriginalSample! };
  }
}
