import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../../src/io/json.js';
import { gpuLatentBackend, schedulerCombine } from '../../../src/webgpu/kernels/scheduler-step.js';
import { hostLatents, type LatentBackend } from '../../../src/schedulers/latents.js';
import { createScheduler } from '../../../src/schedulers/registry.js';
import { Rng } from '../../../src/schedulers/rng.js';
import { gpuRuntime } from '../helpers/device.js';

const SD = { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 };

/** Configurations the golden cases do not reach: clipping, Runge–Kutta steps, third order, SDE noise, eta. */
const CASES: { name: string; scheduler: string; config: Record<string, JsonValue>; steps: number; eta?: number }[] = [
  { name: 'PNDM with Runge–Kutta steps', scheduler: 'PNDMScheduler', config: { ...SD, skip_prk_steps: false }, steps: 6 },
  { name: 'DDIM with clip_sample and eta', scheduler: 'DDIMScheduler', config: { ...SD, clip_sample: true, clip_sample_range: 0.5 }, steps: 5, eta: 0.7 },
  { name: 'DPM-Solver++ third order', scheduler: 'DPMSolverMultistepScheduler', config: { ...SD, solver_order: 3 }, steps: 8 },
  { name: 'SDE-DPM-Solver++', scheduler: 'DPMSolverMultistepScheduler', config: { ...SD, algorithm_type: 'sde-dpmsolver++', solver_type: 'heun' }, steps: 6 },
  { name: 'LCM with clip_sample', scheduler: 'LCMScheduler', config: { ...SD, clip_sample: true, clip_sample_range: 0.3 }, steps: 4 },
  { name: 'Euler with Karras sigmas and churn', scheduler: 'EulerDiscreteScheduler', config: { ...SD, use_karras_sigmas: true }, steps: 5 },
];

async function trajectory<T>(backend: LatentBackend<T>, k: (typeof CASES)[number]): Promise<Float32Array[]> {
  const s = createScheduler<T>(k.scheduler, k.config, { backend, logger: { warn: () => undefined } });
  s.setTimesteps(k.steps);
  const rng = new Rng(11);
  const shape = [1, 4, 3, 5];
  let sample = backend.fromArray(rng.randn(60).map((v) => v * s.initNoiseSigma), shape);
  const out: Float32Array[] = [];
  for (const t of s.timesteps) {
    const scaled = s.scaleModelInput(sample, t);
    const x = await backend.toArray(scaled);
    if (scaled !== sample) backend.release(scaled);
    const modelOutput = backend.fromArray(x.map((v) => 0.3 * v * Math.cos(t / 400) + 0.05 * Math.sin(t / 37)), shape);
    const extra = k.eta !== undefined ? { eta: k.eta } : k.scheduler === 'EulerDiscreteScheduler' ? { sChurn: 0.5 } : {};
    const step = s.step(modelOutput, t, sample, { generator: rng, ...extra });
    backend.release(modelOutput);
    backend.release(sample);
    if (step.predOriginalSample !== null) {
      out.push(await backend.toArray(step.predOriginalSample));
      backend.release(step.predOriginalSample);
    }
    sample = step.prevSample;
    out.push(await backend.toArray(sample));
  }
  backend.release(sample);
  s.dispose();
  return out;
}

describe('the WGSL step kernel computes what the host backend computes', () => {
  for (const k of CASES) {
    it(`${k.name}: every step matches the host run`, async () => {
      const rt = await gpuRuntime();
      const live = rt.pool.stats.liveBytes;
      const gpu = await trajectory(gpuLatentBackend(rt), k);
      const host = await trajectory(hostLatents, k);
      expect(gpu.length).toBe(host.length);
      gpu.forEach((g, i) => {
        const h = host[i]!;
        const scale = Math.max(1, ...h.map(Math.abs));
        g.forEach((v, j) => expect(Math.abs(v - h[j]!)).toBeLessThanOrEqual(2e-6 * scale));
      });
      expect(rt.pool.stats.liveBytes).toBe(live);
    });
  }

  it('clamps y and writes both outputs with six inputs bound', async () => {
    const rt = await gpuRuntime();
    const xs = Array.from({ length: 6 }, (_, i) => Float32Array.from({ length: 300 }, (_, j) => Math.sin(i * 7 + j)));
    const inputs = xs.map((x) => rt.upload(x, [3, 100]));
    const plan = {
      inputs,
      pre: [1, 0.5, -0.25, 2, 0, 1],
      clip: [-0.4, 0.6] as const,
      outputs: [
        { coeffs: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], y: 1 },
        { coeffs: [0, 0, 0, 0, 0, -1], y: 2 },
      ],
    };
    const [a, b] = schedulerCombine(rt, plan);
    const expected = hostLatents.combine({ ...plan, inputs: xs.map((data) => ({ shape: [3, 100], data })) });
    const ga = await rt.read(a!);
    const gb = await rt.read(b!);
    ga.forEach((v, i) => expect(v).toBeCloseTo(expected[0]!.data[i]!, 5));
    gb.forEach((v, i) => expect(v).toBeCloseTo(expected[1]!.data[i]!, 5));
    // The data reaches past the clip range, so the clamp path was exercised.
    const raw = xs[0]!.map((_, j) => plan.pre.reduce((acc, c, i) => acc + c * xs[i]![j]!, 0));
    expect(raw.some((v) => v < -0.4) && raw.some((v) => v > 0.6)).toBe(true);
    for (const t of [...inputs, a!, b!]) rt.release(t);
  });
});
