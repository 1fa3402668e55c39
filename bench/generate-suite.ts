import { WebGPUDiffusionExecutor, type DiffusionEngine } from '../src/index.js';

/** What `bench/generate` times; the defaults are issue 7's: the tiny model, 20 steps, CFG 1.5, 32x32. */
export interface GenerationBenchOptions {
  prompt: string;
  steps: number;
  guidance: number;
  size: number;
  /** Timed runs, after one untimed warm-up. */
  runs: number;
}

/** The raw timings of one environment (Node/Dawn or a browser), one entry per timed run. */
export interface GenerationTimings {
  adapter: string;
  /** Weights dtype the webgpu executor picked (`auto`: f16 with shader-f16, else f32). */
  dtype: string;
  /** The executor's loop time divided by the step count (UNet + guidance + scheduler, on the GPU). */
  perStepMs: number[];
  /** Wall time of `engine.generate` as the caller sees it: encode, loop, decode, readback, transfer. */
  perImageMs: number[];
  /** CPU time of this process per image, all threads (Node only: there lavapipe runs in-process). */
  cpuPerImageMs?: number[];
}

/**
 * Generates `runs + 1` images with `engine` and times all but the first, whose shader and
 * pipeline compilation would otherwise count as generation time. Run `i` uses seed `i`.
 * `cpuMs`, a clock of the process's CPU time, adds CPU time per image: on a loaded machine it
 * shows what the wall times would shrink to.
 */
export async function timeGeneration(engine: DiffusionEngine, options: GenerationBenchOptions, cpuMs?: () => number): Promise<GenerationTimings> {
  const executor = engine.executor;
  const features = executor instanceof WebGPUDiffusionExecutor ? (executor.info?.features ?? []) : [];
  const timings: GenerationTimings = { adapter: 'unknown adapter', dtype: features.includes('shader-f16') ? 'f16' : 'f32', perStepMs: [], perImageMs: [] };
  if (cpuMs) timings.cpuPerImageMs = [];
  for (let run = 0; run <= options.runs; run++) {
    const cpuStarted = cpuMs?.() ?? 0;
    const started = performance.now();
    const out = await engine.generate({
      prompt: options.prompt,
      seed: run,
      numInferenceSteps: options.steps,
      guidanceScale: options.guidance,
      width: options.size,
      height: options.size,
    });
    const wallMs = performance.now() - started;
    const cpuUsed = (cpuMs?.() ?? 0) - cpuStarted;
    if (typeof out.metrics.adapter === 'string') timings.adapter = out.metrics.adapter;
    if (run === 0) continue;
    timings.perStepMs.push(out.metrics.perStepMs ?? Number.NaN);
    timings.perImageMs.push(wallMs);
    timings.cpuPerImageMs?.push(cpuUsed);
  }
  return timings;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One line per environment: medians, and the runs they come from. */
export function formatTimings(label: string, t: GenerationTimings, options: GenerationBenchOptions): string {
  const runs = t.perImageMs.map((ms) => ms.toFixed(0)).join(', ');
  const cpu = t.cpuPerImageMs ? `, CPU ${median(t.cpuPerImageMs).toFixed(0)} ms/image` : '';
  return [
    `${label}: ${t.adapter} (weights ${t.dtype})`,
    `${label}: ${options.size}x${options.size}, ${options.steps} steps, guidance ${options.guidance}: median ${median(t.perStepMs).toFixed(1)} ms/step, ${median(t.perImageMs).toFixed(0)} ms/image${cpu} over ${t.perImageMs.length} runs after 1 warm-up (ms/image: ${runs})`,
  ].join('\n');
}
