import type { JsonValue } from '../io/json.js';
import type { RawSchedulerConfig, SchedulerLogger } from './config.js';
import { SchedulerStateError } from './errors.js';
import { type HostTensor, hostLatents, type LatentBackend } from './latents.js';
import { createScheduler } from './registry.js';

/** One compared quantity of a scheduler case. */
export interface SchedulerCaseCheck {
  /** `timesteps`, `sigmas`, `init_noise_sigma`, or `step{i}.{scaled_input|prev_sample|pred_original_sample}`. */
  name: string;
  max_abs: number;
  /** `||a − b|| / ||b||` (0 when both are zero). */
  rel_l2: number;
  pass: boolean;
}

/** The outcome of {@link runSchedulerCase}. */
export interface SchedulerCaseResult {
  scheduler: string;
  numInferenceSteps: number;
  pass: boolean;
  checks: SchedulerCaseCheck[];
  /** The largest errors over the tensor checks (timesteps excluded). */
  worst: { max_abs: number; rel_l2: number };
  /** Config fields the scheduler ignored (warnings it emitted). */
  warnings: string[];
}

interface Tolerance {
  max_abs: number;
  max_rel_l2: number;
  timesteps_max_abs: number;
}

/**
 * Runs one `scheduler` golden case (fixtures README, kind `scheduler`) through a backend:
 * builds the scheduler from the case's config by class name, checks the schedule, then replays
 * the trajectory from `initial_sample`, feeding each step its own previous output and the case's
 * recorded model outputs and noise. `caseJson` is the parsed case file.
 */
export async function runSchedulerCase<T = HostTensor>(caseJson: JsonValue, backend?: LatentBackend<T>): Promise<SchedulerCaseResult> {
  const c = object(caseJson, 'case');
  const className = string(c['scheduler'], 'scheduler');
  const config = object(c['config'], 'config') as RawSchedulerConfig;
  const steps = number(c['num_inference_steps'], 'num_inference_steps');
  const tol = object(c['tolerance'], 'tolerance') as unknown as Tolerance;
  const shape = numbers(c['shape'], 'shape');
  const trajectory = array(c['trajectory'], 'trajectory').map((s, i) => object(s, `trajectory[${i}]`));
  const be = (backend ?? hostLatents) as LatentBackend<T>;
  const warnings: string[] = [];
  const logger: SchedulerLogger = { warn: (m) => warnings.push(m) };
  const scheduler = createScheduler<T>(className, config, { backend: be, logger });
  scheduler.setTimesteps(steps);

  const checks: SchedulerCaseCheck[] = [];
  const expectedTimesteps = numbers(c['timesteps'], 'timesteps');
  checks.push(compareTimesteps(scheduler.timesteps, expectedTimesteps, tol.timesteps_max_abs));
  const expectedSigmas = c['sigmas'];
  if (expectedSigmas !== null && expectedSigmas !== undefined) {
    checks.push(compare('sigmas', Float64Array.from(scheduler.sigmas ?? []), numbers(expectedSigmas, 'sigmas'), tol));
  }
  checks.push(compare('init_noise_sigma', [scheduler.initNoiseSigma], [number(c['init_noise_sigma'], 'init_noise_sigma')], tol));

  let sample = be.fromArray(Float32Array.from(numbers(c['initial_sample'], 'initial_sample')), shape);
  try {
    for (const [i, entry] of trajectory.entries()) {
      const t = number(entry['t'], `trajectory[${i}].t`);
      const scaled = scheduler.scaleModelInput(sample, t);
      checks.push(compare(`step${i}.scaled_input`, await be.toArray(scaled), numbers(entry['scaled_input'], 'scaled_input'), tol));
      if (scaled !== sample) be.release(scaled);
      const modelOutput = be.fromArray(Float32Array.from(numbers(entry['model_output'], 'model_output')), shape);
      const noiseList = array(entry['noise'], `trajectory[${i}].noise`);
      if (noiseList.length > 1) throw new SchedulerStateError(`Scheduler case step ${i} records ${noiseList.length} noise tensors; these schedulers draw at most one per step.`);
      const noise = noiseList.length === 1 ? be.fromArray(Float32Array.from(numbers(noiseList[0], 'noise')), shape) : undefined;
      const out = scheduler.step(modelOutput, t, sample, noise === undefined ? {} : { noise });
      be.release(modelOutput);
      if (noise !== undefined) be.release(noise);
      checks.push(compare(`step${i}.prev_sample`, await be.toArray(out.prevSample), numbers(entry['prev_sample'], 'prev_sample'), tol));
      const expectedX0 = entry['pred_original_sample'];
      if (expectedX0 !== null && expectedX0 !== undefined) {
        const got = out.predOriginalSample === null ? new Float32Array(0) : await be.toArray(out.predOriginalSample);
        checks.push(compare(`step${i}.pred_original_sample`, got, numbers(expectedX0, 'pred_original_sample'), tol));
      }
      if (out.predOriginalSample !== null) be.release(out.predOriginalSample);
      be.release(sample);
      sample = out.prevSample;
    }
  } finally {
    be.release(sample);
    scheduler.dispose();
  }
  const tensorChecks = checks.filter((k) => k.name !== 'timesteps');
  return {
    scheduler: className,
    numInferenceSteps: steps,
    pass: checks.every((k) => k.pass),
    checks,
    worst: {
      max_abs: Math.max(0, ...tensorChecks.map((k) => k.max_abs)),
      rel_l2: Math.max(0, ...tensorChecks.map((k) => k.rel_l2)),
    },
    warnings,
  };
}

function compareTimesteps(got: readonly number[], expected: readonly number[], fractionalTolerance: number): SchedulerCaseCheck {
  let maxAbs = got.length === expected.length ? 0 : Infinity;
  let pass = got.length === expected.length;
  expected.forEach((e, i) => {
    const g = got[i] ?? NaN;
    const d = Math.abs(g - e);
    maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
    if (Number.isInteger(e) ? g !== e : !(d <= fractionalTolerance)) pass = false;
  });
  return { name: 'timesteps', max_abs: maxAbs, rel_l2: 0, pass };
}

function compare(name: string, got: ArrayLike<number>, expected: readonly number[], tol: Tolerance): SchedulerCaseCheck {
  if (got.length !== expected.length) return { name, max_abs: Infinity, rel_l2: Infinity, pass: false };
  let maxAbs = 0;
  let diff2 = 0;
  let ref2 = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = got[i]! - expected[i]!;
    maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : Math.abs(d));
    diff2 += d * d;
    ref2 += expected[i]! * expected[i]!;
  }
  const relL2 = ref2 === 0 ? (diff2 === 0 ? 0 : Infinity) : Math.sqrt(diff2 / ref2);
  return { name, max_abs: maxAbs, rel_l2: relL2, pass: maxAbs <= tol.max_abs && relL2 <= tol.max_rel_l2 };
}

function fail(what: string, expected: string): never {
  throw new TypeError(`Scheduler case: field "${what}" must be ${expected}.`);
}

function object(v: JsonValue | undefined, what: string): Record<string, JsonValue> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(what, 'an object');
  return v;
}

function array(v: JsonValue | undefined, what: string): JsonValue[] {
  if (!Array.isArray(v)) return fail(what, 'a list');
  return v;
}

function number(v: JsonValue | undefined, what: string): number {
  if (typeof v !== 'number') return fail(what, 'a number');
  return v;
}

function string(v: JsonValue | undefined, what: string): string {
  if (typeof v !== 'string') return fail(what, 'a string');
  return v;
}

function numbers(v: JsonValue | undefined, what: string): number[] {
  const list = array(v, what);
  if (!list.every((x) => typeof x === 'number')) return fail(what, 'a list of numbers');
  return list as number[];
}
