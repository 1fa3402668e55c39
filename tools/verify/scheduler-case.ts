import type { SchedulerLogger } from '../../src/schedulers/config.js';
import { SchedulerStateError } from '../../src/schedulers/errors.js';
import { type HostTensor, hostLatents, type LatentBackend } from '../../src/schedulers/latents.js';
import { createScheduler } from '../../src/schedulers/registry.js';
import type { SchedulerFixture } from './fixture/fixture.js';

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

type Tolerance = SchedulerFixture['tolerance'];

/**
 * Runs one `scheduler` golden case (fixtures README, kind `scheduler`), as `loadFixture` parsed
 * it, through a backend: builds the scheduler from the case's config by class name, checks the
 * schedule, then replays the trajectory from `initial_sample`, feeding each step its own previous
 * output and the case's recorded model outputs and noise.
 */
export async function runSchedulerCase<T = HostTensor>(fx: SchedulerFixture, backend?: LatentBackend<T>): Promise<SchedulerCaseResult> {
  const tol = fx.tolerance;
  const be = (backend ?? hostLatents) as LatentBackend<T>;
  const warnings: string[] = [];
  const logger: SchedulerLogger = { warn: (m) => warnings.push(m) };
  const scheduler = createScheduler<T>(fx.scheduler, fx.config, { backend: be, logger });
  scheduler.setTimesteps(fx.numInferenceSteps);

  const checks: SchedulerCaseCheck[] = [];
  checks.push(compareTimesteps(scheduler.timesteps, fx.timesteps, tol.timestepsMaxAbs));
  if (fx.sigmas !== null) checks.push(compare('sigmas', Float64Array.from(scheduler.sigmas ?? []), fx.sigmas, tol));
  checks.push(compare('init_noise_sigma', [scheduler.initNoiseSigma], [fx.initNoiseSigma], tol));

  let sample = be.fromArray(fx.initialSample.slice(), fx.shape);
  try {
    for (const [i, step] of fx.trajectory.entries()) {
      const scaled = scheduler.scaleModelInput(sample, step.t);
      checks.push(compare(`step${i}.scaled_input`, await be.toArray(scaled), step.scaledInput, tol));
      if (scaled !== sample) be.release(scaled);
      const modelOutput = be.fromArray(step.modelOutput.slice(), fx.shape);
      if (step.noise.length > 1) throw new SchedulerStateError(`Scheduler case step ${i} records ${step.noise.length} noise tensors; these schedulers draw at most one per step.`);
      const noise = step.noise.length === 1 ? be.fromArray(step.noise[0]!.slice(), fx.shape) : undefined;
      const out = scheduler.step(modelOutput, step.t, sample, noise === undefined ? {} : { noise });
      be.release(modelOutput);
      if (noise !== undefined) be.release(noise);
      checks.push(compare(`step${i}.prev_sample`, await be.toArray(out.prevSample), step.prevSample, tol));
      if (step.predOriginalSample !== null) {
        const got = out.predOriginalSample === null ? new Float32Array(0) : await be.toArray(out.predOriginalSample);
        checks.push(compare(`step${i}.pred_original_sample`, got, step.predOriginalSample, tol));
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
    scheduler: fx.scheduler,
    numInferenceSteps: fx.numInferenceSteps,
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

function compare(name: string, got: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): SchedulerCaseCheck {
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
  return { name, max_abs: maxAbs, rel_l2: relL2, pass: maxAbs <= tol.maxAbs && relL2 <= tol.maxRelL2 };
}
