import type { JsonValue } from '../io/json.js';
import { noiseSchedule, sigmasFromAlphasCumprod } from './betas.js';
import type { RawSchedulerConfig } from './config.js';
import { SchedulerConfigError } from './errors.js';
import { type HostTensor, linearCombination, runCombination, scaleTerms, type Term, Y } from './latents.js';
import {
  BaseScheduler,
  NOISE_SCHEDULE_DEFAULTS,
  readNoiseSchedule,
  type SchedulerOptions,
  type SchedulerStepOptions,
  type SchedulerStepOutput,
} from './scheduler.js';
import { interpTable, karrasSigmas, sigmaToT } from './sigmas.js';
import { requireNoThresholding } from './thresholding.js';
import { npArangeDown, npLinspace, npRound, TIMESTEP_SPACINGS, type TimestepSpacing } from './timesteps.js';

const DEFAULTS: Readonly<Record<string, JsonValue>> = {
  ...NOISE_SCHEDULE_DEFAULTS,
  solver_order: 2,
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  lower_order_final: true,
  euler_at_final: false,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_lu_lambdas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  final_sigmas_type: 'zero',
  lambda_min_clipped: -Infinity,
  variance_type: null,
  timestep_spacing: 'linspace',
  rescale_betas_zero_snr: false,
  use_dynamic_shifting: false,
  time_shift_type: 'exponential',
};

type Algorithm = 'dpmsolver++' | 'dpmsolver' | 'sde-dpmsolver++';
const f32 = Math.fround;

/** `α_t = 1/√(σ²+1)`, `σ_t = σ·α_t` and `λ = ln α_t − ln σ_t`, in float32 as diffusers computes them. */
function alphaSigmaLambda(sigma: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  const s = f32(sigma * alpha);
  return { alpha, sigma: s, lambda: f32(f32(Math.log(alpha)) - f32(Math.log(s))) };
}

/**
 * diffusers' `DPMSolverMultistepScheduler` (Lu et al. 2022): DPM-Solver++ (`dpmsolver++`, with
 * `solver_order` 2 the "DPM++ 2M" sampler, `use_karras_sigmas` its Karras variant), DPM-Solver
 * (`dpmsolver`) and SDE-DPM-Solver++ (`sde-dpmsolver++`, which draws noise every step). The
 * previous converted model outputs stay on the backend as tensors.
 */
export class DPMSolverMultistepScheduler<T = HostTensor> extends BaseScheduler<T> {
  /** The config fields this class reads (its diffusers `__init__` arguments). */
  static readonly configKeys: ReadonlySet<string> = new Set(Object.keys(DEFAULTS));

  override readonly drawsNoise: boolean;
  readonly alphasCumprod: Float64Array;
  readonly #numTrain: number;
  readonly #spacing: TimestepSpacing;
  readonly #stepsOffset: number;
  readonly #prediction: 'epsilon' | 'v_prediction' | 'sample';
  readonly #algorithm: Algorithm;
  readonly #solverType: 'midpoint' | 'heun';
  readonly #order: number;
  readonly #lowerOrderFinal: boolean;
  readonly #eulerAtFinal: boolean;
  readonly #karras: boolean;
  readonly #finalSigma: 'zero' | 'sigma_min';
  readonly #lambdaMinClipped: number;
  #modelOutputs: (T | null)[] = [];
  #lowerOrderNums = 0;

  constructor(config: RawSchedulerConfig = {}, options: SchedulerOptions<T> = {}) {
    super('DPMSolverMultistepScheduler', config, DEFAULTS, options);
    const r = this.reader;
    const schedule = readNoiseSchedule(r);
    this.#numTrain = schedule.numTrainTimesteps;
    this.alphasCumprod = noiseSchedule(schedule, true);
    this.#spacing = r.choice('timestep_spacing', TIMESTEP_SPACINGS);
    this.#stepsOffset = r.number('steps_offset', { integer: true });
    this.#prediction = r.choice('prediction_type', ['epsilon', 'v_prediction', 'sample']);
    this.#algorithm = r.choice('algorithm_type', ['dpmsolver++', 'dpmsolver', 'sde-dpmsolver++'], { deis: 'dpmsolver++' });
    this.#solverType = r.choice('solver_type', ['midpoint', 'heun'], { logrho: 'midpoint', bh1: 'midpoint', bh2: 'midpoint' });
    this.#order = r.number('solver_order', { integer: true, min: 1 });
    if (this.#order > 3) throw new SchedulerConfigError(this.className, 'solver_order', this.#order, '1, 2 or 3');
    this.#lowerOrderFinal = r.boolean('lower_order_final');
    this.#eulerAtFinal = r.boolean('euler_at_final');
    this.#karras = r.boolean('use_karras_sigmas');
    this.#finalSigma = r.choice('final_sigmas_type', ['zero', 'sigma_min']);
    this.#lambdaMinClipped = r.number('lambda_min_clipped');
    requireNoThresholding(r);
    for (const key of ['use_exponential_sigmas', 'use_beta_sigmas', 'use_lu_lambdas', 'use_flow_sigmas', 'use_dynamic_shifting']) {
      if (r.boolean(key)) throw new SchedulerConfigError(this.className, key, true, 'false (not implemented)');
    }
    const variance = r.values['variance_type'];
    if (variance !== null) throw new SchedulerConfigError(this.className, 'variance_type', variance, 'null (learned variance is not implemented)');
    if (this.#algorithm === 'dpmsolver' && this.#finalSigma === 'zero') {
      throw new SchedulerConfigError(this.className, 'final_sigmas_type', 'zero', `"sigma_min" with algorithm_type "${this.#algorithm}"`);
    }
    this.drawsNoise = this.#algorithm === 'sde-dpmsolver++';
    this.timesteps = Array.from({ length: this.#numTrain }, (_, i) => this.#numTrain - 1 - i);
    this.sigmas = Array.from(sigmasFromAlphasCumprod(this.alphasCumprod));
  }

  /** diffusers' `DPMSolverMultistepScheduler.from_config`. */
  static fromConfig<T = HostTensor>(config: RawSchedulerConfig, options: SchedulerOptions<T> = {}): DPMSolverMultistepScheduler<T> {
    return new DPMSolverMultistepScheduler<T>(config, options);
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = numInferenceSteps;
    const N = this.#numTrain;
    this.checkSteps(n, N);
    // Timesteps whose λ falls below lambda_min_clipped are cut from the top (for the cosine schedule).
    let clipped = 0;
    for (let i = N - 1; i >= 0; i--) {
      const a = this.alphasCumprod[i]!;
      const lambda = f32(f32(Math.log(f32(Math.sqrt(a)))) - f32(Math.log(f32(Math.sqrt(f32(1 - a))))));
      if (lambda < this.#lambdaMinClipped) clipped++;
      else break;
    }
    const last = N - clipped;
    let timesteps: number[];
    if (this.#spacing === 'linspace') timesteps = npLinspace(0, last - 1, n + 1).map(npRound).reverse().slice(0, -1);
    else if (this.#spacing === 'leading') {
      const ratio = Math.floor(last / (n + 1));
      timesteps = Array.from({ length: n }, (_, i) => (n - i) * ratio + this.#stepsOffset);
    } else timesteps = npArangeDown(last, 0, -N / n).map((t) => npRound(t) - 1);
    const table = sigmasFromAlphasCumprod(this.alphasCumprod);
    let sigmas: number[];
    if (this.#karras) {
      const logTable = table.map((s) => f32(Math.log(s)));
      sigmas = karrasSigmas(table[0]!, table[table.length - 1]!, n);
      timesteps = sigmas.map((s) => npRound(sigmaToT(s, logTable)));
    } else sigmas = timesteps.map((t) => interpTable(t, table));
    const finalSigma = this.#finalSigma === 'zero' ? 0 : table[0]!;
    this.dispose();
    this.sigmas = [...sigmas, finalSigma].map(f32);
    this.timesteps = timesteps;
    this.numInferenceSteps = timesteps.length;
    this.#modelOutputs = Array.from({ length: this.#order }, () => null);
    this.#lowerOrderNums = 0;
  }

  /** `α_t · original + σ_t · noise` at the sigma of the begin index once img2img has set one (see `addNoiseIndex`). */
  addNoise(original: T, noise: T, t: number): T {
    const s = alphaSigmaLambda(this.sigmas![this.addNoiseIndex(t)]!);
    return linearCombination(this.backend, [[s.alpha, original], [s.sigma, noise]]);
  }

  override dispose(): void {
    super.dispose();
    for (const m of this.#modelOutputs) if (m !== null) this.backend.release(m);
    this.#modelOutputs = this.#modelOutputs.map(() => null);
  }

  /** Unknown timesteps map to the last step, as in diffusers. */
  protected override indexForTimestep(t: number): number {
    const hits = this.timestepPositions(t);
    if (hits.length === 0) return this.timesteps.length - 1;
    return hits[hits.length > 1 ? 1 : 0]!;
  }

  step(modelOutput: T, t: number, sample: T, options: SchedulerStepOptions<T> = {}): SchedulerStepOutput<T> {
    const i = this.currentStepIndex(t);
    const count = this.timesteps.length;
    const lowerOrderFinal = i === count - 1 && (this.#eulerAtFinal || (this.#lowerOrderFinal && count < 15) || this.#finalSigma === 'zero');
    const lowerOrderSecond = i === count - 2 && this.#lowerOrderFinal && count < 15;

    const s0 = alphaSigmaLambda(this.sigmas![i]!);
    const converted = this.#convertTerms(s0, sample, modelOutput);
    const dropped = this.#modelOutputs.shift();
    const history = this.#modelOutputs.filter((m): m is T => m !== null).reverse();

    let order: number;
    if (this.#order === 1 || this.#lowerOrderNums < 1 || lowerOrderFinal) order = 1;
    else if (this.#order === 2 || this.#lowerOrderNums < 2 || lowerOrderSecond) order = 2;
    else order = 3;

    let drawn: { noise: T; owned: boolean } | null = null;
    if (this.drawsNoise) drawn = this.takeNoise(modelOutput, options);
    const prev = this.#update(order, i, sample, history, drawn?.noise ?? null);
    const [prevSample, stored] = runCombination(this.backend, { y: converted, outputs: [prev, [[1, Y]]] });
    if (drawn?.owned) this.backend.release(drawn.noise);
    if (dropped) this.backend.release(dropped);
    this.#modelOutputs.push(stored!);
    if (this.#lowerOrderNums < this.#order) this.#lowerOrderNums++;
    this.stepIndex = i + 1;
    return { prevSample: prevSample!, predOriginalSample: null };
  }

  /** `convert_model_output`: x0 for the ++ algorithms, ε for `dpmsolver`. */
  #convertTerms(s: { alpha: number; sigma: number }, sample: T, modelOutput: T): Term<T>[] {
    const p = this.#prediction;
    if (this.#algorithm === 'dpmsolver') {
      if (p === 'epsilon') return [[1, modelOutput]];
      if (p === 'sample') return [[1 / s.sigma, sample], [-s.alpha / s.sigma, modelOutput]];
      return [[s.alpha, modelOutput], [s.sigma, sample]];
    }
    if (p === 'epsilon') return [[1 / s.alpha, sample], [-s.sigma / s.alpha, modelOutput]];
    if (p === 'sample') return [[1, modelOutput]];
    return [[s.alpha, sample], [-s.sigma, modelOutput]];
  }

  /**
   * The multistep update of the given order as terms of the sample, the converted output `Y`
   * (m0), the stored previous outputs (m1, m2, newest first) and the noise.
   */
  #update(order: number, i: number, sample: T, history: readonly T[], noise: T | null): Term<T>[] {
    const sig = this.sigmas!;
    const t = alphaSigmaLambda(sig[i + 1]!);
    const s0 = alphaSigmaLambda(sig[i]!);
    const h = f32(t.lambda - s0.lambda);
    const expNegH = f32(Math.exp(-h));
    const expH = f32(Math.exp(h));
    const pp = this.#algorithm === 'dpmsolver++';
    const sde = this.#algorithm === 'sde-dpmsolver++';
    const expNeg2H = f32(Math.exp(f32(-2 * h)));

    let D1: Term<T>[] = [];
    let D2: Term<T>[] = [];
    if (order === 2) {
      const s1 = alphaSigmaLambda(sig[i - 1]!);
      const r0 = f32(f32(s0.lambda - s1.lambda) / h);
      D1 = scaleTerms<T>([[1, Y], [-1, history[0]!]], 1 / r0);
    } else if (order === 3) {
      const s1 = alphaSigmaLambda(sig[i - 1]!);
      const s2 = alphaSigmaLambda(sig[i - 2]!);
      const r0 = f32(f32(s0.lambda - s1.lambda) / h);
      const r1 = f32(f32(s1.lambda - s2.lambda) / h);
      const d10 = scaleTerms<T>([[1, Y], [-1, history[0]!]], 1 / r0);
      const d11 = scaleTerms<T>([[1, history[0]!], [-1, history[1]!]], 1 / r1);
      const diff = [...d10, ...scaleTerms(d11, -1)];
      D1 = [...d10, ...scaleTerms(diff, r0 / (r0 + r1))];
      D2 = scaleTerms(diff, 1 / (r0 + r1));
    }

    let cSample: number;
    let c0: number;
    let c1: number;
    let c2 = 0;
    if (pp) {
      cSample = t.sigma / s0.sigma;
      c0 = -(t.alpha * (expNegH - 1));
      if (order === 2 && this.#solverType === 'midpoint') c1 = -0.5 * (t.alpha * (expNegH - 1));
      else c1 = t.alpha * ((expNegH - 1) / h + 1);
      c2 = -(t.alpha * ((expNegH - 1 + h) / (h * h) - 0.5));
    } else if (sde) {
      cSample = (t.sigma / s0.sigma) * expNegH;
      c0 = t.alpha * (1 - expNeg2H);
      if (order === 2 && this.#solverType === 'midpoint') c1 = 0.5 * (t.alpha * (1 - expNeg2H));
      else c1 = t.alpha * ((1 - expNeg2H) / (-2 * h) + 1);
      c2 = t.alpha * ((1 - expNeg2H - 2 * h) / (2 * h) ** 2 - 0.5);
    } else {
      cSample = t.alpha / s0.alpha;
      c0 = -(t.sigma * (expH - 1));
      if (order === 2 && this.#solverType === 'midpoint') c1 = -0.5 * (t.sigma * (expH - 1));
      else c1 = -(t.sigma * ((expH - 1) / h - 1));
      c2 = -(t.sigma * ((expH - 1 - h) / (h * h) - 0.5));
    }
    // With σ_next = 0 (final_sigmas_type "zero"), σ_t/σ_s = 0 and the step lands on x0.
    const terms: Term<T>[] = [[cSample, sample], [c0, Y]];
    if (order >= 2) terms.push(...scaleTerms(D1, c1));
    if (order === 3) terms.push(...scaleTerms(D2, c2));
    if (sde && noise !== null) terms.push([t.sigma * Math.sqrt(1 - expNeg2H), noise]);
    return terms;
  }
}
