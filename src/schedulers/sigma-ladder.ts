import { sigmasFromAlphasCumprod } from './betas.js';
import { interpTable, karrasSigmas, sigmaToT } from './sigmas.js';
import { spacedTimesteps, type TimestepSpacing } from './timesteps.js';

/** How the sigma ladder of an Euler-type scheduler is built from the spaced timesteps. */
export interface SigmaLadderOptions {
  spacing: TimestepSpacing;
  stepsOffset: number;
  interpolation: 'linear' | 'log_linear';
  /** `karras` or `exponential` respace the sigmas and re-derive fractional timesteps from them. */
  respacing: 'none' | 'karras' | 'exponential';
  /** Overrides of the respacing range (`sigma_min` / `sigma_max`). */
  sigmaMin: number | null;
  sigmaMax: number | null;
  finalSigma: 'zero' | 'sigma_min';
}

/** float32 timesteps and sigmas (with the final value appended) of an Euler-type schedule. */
export interface SigmaLadder {
  timesteps: number[];
  sigmas: number[];
}

/**
 * The `set_timesteps` of diffusers' Euler schedulers: spaced timesteps (fractional for
 * `linspace`), sigma interpolated at them from the training table, optionally respaced, then the
 * final sigma appended; everything stored as float32.
 */
export function sigmaLadder(alphasCumprod: Float64Array, steps: number, o: SigmaLadderOptions): SigmaLadder {
  const table = sigmasFromAlphasCumprod(alphasCumprod);
  const logTable = table.map((s) => Math.fround(Math.log(s)));
  let timesteps = spacedTimesteps(o.spacing, table.length, steps, o.stepsOffset, true);
  let sigmas: number[];
  if (o.interpolation === 'linear') sigmas = timesteps.map((t) => interpTable(t, table));
  else {
    const logs = torchLinspaceLogs(logTable[table.length - 1]!, logTable[0]!, steps + 1);
    sigmas = logs.map((l) => Math.fround(Math.exp(l)));
  }
  if (o.respacing !== 'none') {
    const lo = o.sigmaMin ?? sigmas[sigmas.length - 1]!;
    const hi = o.sigmaMax ?? sigmas[0]!;
    sigmas = o.respacing === 'karras' ? karrasSigmas(lo, hi, steps) : exponentialSigmas(lo, hi, steps);
    timesteps = sigmas.map((s) => Math.fround(sigmaToT(s, logTable)));
  }
  const last = o.finalSigma === 'zero' ? 0 : table[0]!;
  return { timesteps, sigmas: [...sigmas, last].map(Math.fround) };
}

/** `exp(linspace(log(max), log(min), n))` in float64 (diffusers' `_convert_to_exponential`). */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, steps: number): number[] {
  const a = Math.log(sigmaMax);
  const b = Math.log(sigmaMin);
  return Array.from({ length: steps }, (_, i) => Math.exp(steps === 1 ? a : i === steps - 1 ? b : i * ((b - a) / (steps - 1)) + a));
}

function torchLinspaceLogs(start: number, end: number, steps: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(steps === 1 ? start : i < steps / 2 ? start + ((end - start) / (steps - 1)) * i : end - ((end - start) / (steps - 1)) * (steps - 1 - i));
  return out.map(Math.fround);
}

/** `init_noise_sigma` of Euler-type schedulers: `σ_max` for linspace/trailing, else `√(σ_max² + 1)` (float32). */
export function eulerInitNoiseSigma(sigmas: readonly number[], spacing: TimestepSpacing): number {
  const max = Math.max(...sigmas);
  if (spacing === 'linspace' || spacing === 'trailing') return max;
  return Math.fround(Math.sqrt(Math.fround(Math.fround(max * max) + 1)));
}

/** `1 / √(σ² + 1)`, the input scaling of Euler-type schedulers, from float32 intermediate values. */
export function eulerInputScale(sigma: number): number {
  return 1 / Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1)));
}

/** The untruncated training ladder Euler-type schedulers hold before `setTimesteps`: all sigmas, descending, then 0. */
export function fullLadder(alphasCumprod: Float64Array): SigmaLadder {
  const table = sigmasFromAlphasCumprod(alphasCumprod);
  const n = table.length;
  return {
    timesteps: Array.from({ length: n }, (_, i) => n - 1 - i),
    sigmas: [...Array.from(table).reverse(), 0],
  };
}
