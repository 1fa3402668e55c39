import { describe, expect, it } from 'vitest';
import { RequestValidationError } from '../../../src/api/errors.js';
import { DDIMScheduler } from '../../../src/schedulers/ddim.js';
import { DPMSolverMultistepScheduler } from '../../../src/schedulers/dpm-solver-multistep.js';
import { SchedulerConfigError } from '../../../src/schedulers/errors.js';
import { EulerAncestralDiscreteScheduler } from '../../../src/schedulers/euler-ancestral.js';
import { EulerDiscreteScheduler } from '../../../src/schedulers/euler.js';
import type { HostTensor } from '../../../src/schedulers/latents.js';
import { LCMScheduler } from '../../../src/schedulers/lcm.js';
import { PNDMScheduler } from '../../../src/schedulers/pndm.js';
import type { Scheduler } from '../../../src/schedulers/scheduler.js';
import { setStrengthTimesteps } from '../../../src/schedulers/strength.js';

// SD 1.5's noise schedule (scaled_linear, leading spacing, steps_offset 1): integer timesteps, so
// every sigma the schedulers use is the training table's, computable by hand below.
const SD15 = { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, timestep_spacing: 'leading' } as const;

/** ᾱ_t of the scaled_linear schedule, in float64 from the definition (not the schedulers' code). */
function alphaBar(t: number): number {
  const lo = Math.sqrt(0.00085);
  const hi = Math.sqrt(0.012);
  let prod = 1;
  for (let i = 0; i <= t; i++) {
    const beta = (lo + ((hi - lo) * i) / 999) ** 2;
    prod *= 1 - beta;
  }
  return prod;
}

const host = (data: number[]): HostTensor => ({ shape: [1, data.length], data: Float32Array.from(data) });
const x0 = host([0.5, -1.25, 2, 0]);
const noise = host([1, 0.25, -0.5, 2]);

function expectClose(actual: HostTensor, expected: number[]): void {
  expected.forEach((v, i) => expect(actual.data[i]).toBeCloseTo(v, 5));
}

/** √ᾱ·x0 + √(1−ᾱ)·ε at training timestep t. */
function ddpmNoised(t: number): number[] {
  const a = alphaBar(t);
  return Array.from(x0.data, (x, i) => Math.sqrt(a) * x + Math.sqrt(1 - a) * noise.data[i]!);
}

/** x0 + σ·ε with σ = √((1−ᾱ)/ᾱ) at training timestep t. */
function sigmaNoised(t: number): number[] {
  const a = alphaBar(t);
  const sigma = Math.sqrt((1 - a) / a);
  return Array.from(x0.data, (x, i) => x + sigma * noise.data[i]!);
}

describe('addNoise: alpha-bar schedulers (DDIM, PNDM, LCM) at the given training timestep', () => {
  const cases: Array<[string, () => Scheduler<HostTensor>]> = [
    ['DDIMScheduler', () => new DDIMScheduler(SD15)],
    ['PNDMScheduler', () => new PNDMScheduler({ ...SD15, skip_prk_steps: true })],
    ['LCMScheduler', () => new LCMScheduler({})],
  ];
  it.each(cases)('%s: √ᾱ_t·x0 + √(1−ᾱ_t)·ε', (_name, make) => {
    const s = make();
    s.setTimesteps(4);
    for (const t of [999, 501, 1]) expectClose(s.addNoise(x0, noise, t), ddpmNoised(t));
  });

  it('rejects a timestep that is not a training timestep', () => {
    const s = new DDIMScheduler(SD15);
    s.setTimesteps(4);
    expect(() => s.addNoise(x0, noise, 1000)).toThrow(/timestep 1000/);
  });
});

describe('addNoise: sigma schedulers read σ at the begin index', () => {
  it.each([
    ['EulerDiscreteScheduler', () => new EulerDiscreteScheduler<HostTensor>(SD15)],
    ['EulerAncestralDiscreteScheduler', () => new EulerAncestralDiscreteScheduler<HostTensor>(SD15)],
  ] as const)('%s: x0 + σ·ε, σ of the timestep before a begin index is set and of the begin index after', (_name, make) => {
    const s = make();
    s.setTimesteps(10);
    expect(s.timesteps.slice(0, 3)).toEqual([901, 801, 701]);
    expectClose(s.addNoise(x0, noise, 801), sigmaNoised(801));
    // With a begin index, the timestep argument no longer picks the sigma (diffusers' img2img path).
    s.setBeginIndex(5);
    expectClose(s.addNoise(x0, noise, 999), sigmaNoised(s.timesteps[5]!));
  });

  it('DPMSolverMultistepScheduler: α_t·x0 + σ_t·ε with α_t = 1/√(σ²+1), σ_t = σ·α_t (= √ᾱ, √(1−ᾱ))', () => {
    const s = new DPMSolverMultistepScheduler<HostTensor>({ ...SD15, timestep_spacing: 'leading' });
    s.setTimesteps(10);
    const begin = 4;
    s.setBeginIndex(begin);
    expectClose(s.addNoise(x0, noise, s.timesteps[begin]!), ddpmNoised(s.timesteps[begin]!));
  });
});

describe('img2img timesteps (diffusers get_timesteps)', () => {
  const makers: Array<[string, () => Scheduler<HostTensor>]> = [
    ['DDIMScheduler', () => new DDIMScheduler(SD15)],
    ['EulerDiscreteScheduler', () => new EulerDiscreteScheduler(SD15)],
    ['DPMSolverMultistepScheduler (dpm++2m)', () => new DPMSolverMultistepScheduler(SD15)],
    ['LCMScheduler', () => new LCMScheduler({})],
  ];

  it.each(makers)('%s: strength 1 runs every step, 0.5 the last half, 0.3 the last int(10·0.3) = 3', (_name, make) => {
    const s = make();
    s.setTimesteps(10);
    const all = [...s.timesteps];
    expect(setStrengthTimesteps(make(), 10, 1)).toEqual(all);
    expect(setStrengthTimesteps(make(), 10, 0.5)).toEqual(all.slice(5));
    expect(setStrengthTimesteps(make(), 10, 0.3)).toEqual(all.slice(7));
    expect(setStrengthTimesteps(make(), 10, 0.1)).toEqual(all.slice(9));
  });

  it.each(makers)('%s: a strength that leaves no step is a RequestValidationError naming strength', (_name, make) => {
    let err: unknown;
    try {
      setStrengthTimesteps(make(), 10, 0.09);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RequestValidationError);
    expect((err as RequestValidationError).field).toBe('strength');
    expect((err as Error).message).toMatch(/strength = 0\.09.*1\/10/);
    expect(() => setStrengthTimesteps(make(), 10, 0)).toThrow(/strength = 0/);
    expect(() => setStrengthTimesteps(make(), 10, 1.5)).toThrow(/strength = 1\.5/);
  });

  it('Euler and DPM++ take their first step at the begin index, from σ[t_start]', () => {
    const euler = new EulerDiscreteScheduler<HostTensor>(SD15);
    const ts = setStrengthTimesteps(euler, 10, 0.4);
    expect(ts).toHaveLength(4);
    const sigma = euler.sigmas![6]!;
    expect(euler.scaleModelInput(host([1]), ts[0]!).data[0]).toBeCloseTo(1 / Math.sqrt(sigma * sigma + 1), 6);
    // With ε = 1 the Euler step moves x by dσ = σ[7] − σ[6].
    const out = euler.step(host([1]), ts[0]!, host([1])).prevSample;
    expect(out.data[0]).toBeCloseTo(1 + euler.sigmas![7]! - sigma, 5);

    const dpm = new DPMSolverMultistepScheduler<HostTensor>(SD15);
    const dts = setStrengthTimesteps(dpm, 10, 0.4);
    // A zero ε prediction makes x0 = x/α_s, so DPM++'s first-order step gives x·α_t/α_s between σ[6] and σ[7].
    const a = (s: number) => 1 / Math.sqrt(s * s + 1);
    const step = dpm.step(host([0]), dts[0]!, host([1])).prevSample;
    expect(step.data[0]).toBeCloseTo(a(dpm.sigmas![7]!) / a(dpm.sigmas![6]!), 5);
  });

  it('LCM img2img ("lcm" schedule): every step runs, over the first int(original · strength) distillation timesteps', () => {
    const s = new LCMScheduler<HostTensor>({});
    // original_inference_steps 50, k = 20: the kept schedule is 499, 479, …, 19; 4 steps at positions 0, 6, 12, 18.
    expect(setStrengthTimesteps(s, 4, 0.5, 'lcm')).toEqual([499, 379, 259, 139]);
    expect(setStrengthTimesteps(new LCMScheduler<HostTensor>({}), 4, 1, 'lcm')).toEqual([999, 759, 499, 259]);
    let err: unknown;
    try {
      setStrengthTimesteps(new LCMScheduler<HostTensor>({}), 4, 0.05, 'lcm');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchedulerConfigError);
    expect((err as SchedulerConfigError).field).toBe('strength');
  });

  it('"lcm" falls back to truncation for other schedulers', () => {
    const s = new DDIMScheduler<HostTensor>(SD15);
    s.setTimesteps(4);
    const all = [...s.timesteps];
    expect(setStrengthTimesteps(new DDIMScheduler<HostTensor>(SD15), 4, 0.5, 'lcm')).toEqual(all.slice(2));
  });

  it('setTimesteps clears the begin index', () => {
    const s = new EulerDiscreteScheduler<HostTensor>(SD15);
    setStrengthTimesteps(s, 10, 0.5);
    s.setTimesteps(10);
    expectClose(s.addNoise(x0, noise, 901), sigmaNoised(901));
  });
});
