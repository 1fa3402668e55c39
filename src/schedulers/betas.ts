/**
 * The training noise schedule (betas → alphas_cumprod), reproduced bit for bit from diffusers,
 * which builds it with float32 torch tensors. Every value here is a float32 held in a float64;
 * `Math.fround` marks each place where torch rounds.
 */

const f32 = Math.fround;

/** Beta schedules diffusers names in `beta_schedule`. */
export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export type BetaSchedule = (typeof BETA_SCHEDULES)[number];

export interface NoiseScheduleConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  /** Replaces the schedule when given (`trained_betas`). */
  trainedBetas: readonly number[] | null;
  rescaleBetasZeroSnr: boolean;
}

/**
 * `torch.linspace(start, end, steps, dtype=float32)` on the CPU. Torch fills the first half from
 * `start` and the second from `end` (so both ends are exact) and, on x86, vectorises in blocks of
 * 8 lanes (AVX2): a block starts from the scalar formula at its first index and adds `step * lane`.
 * The last `steps % 16` values are written by the scalar loop.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const scalarAt = (idx: number): number => (idx < halfway ? f32(s + f32(step * idx)) : f32(e - f32(step * (steps - idx - 1))));
  const lanes = 8;
  const vectorEnd = steps - (steps % (2 * lanes));
  for (let block = 0; block < vectorEnd; block += lanes) {
    const base = scalarAt(block);
    for (let lane = 0; lane < lanes; lane++) out[block + lane] = lane === 0 ? base : f32(base + f32(step * lane));
  }
  for (let idx = vectorEnd; idx < steps; idx++) out[idx] = scalarAt(idx);
  return out;
}

/** `betas_for_alpha_bar(N, alpha_transform_type="cosine")`: computed in float64, stored as float32. */
function cosineBetas(n: number): Float64Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI * 0.5) ** 2;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f32(Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999));
  return out;
}

/** The betas of a config, as float32 values. */
export function makeBetas(config: NoiseScheduleConfig): Float64Array {
  let betas: Float64Array;
  if (config.trainedBetas !== null) betas = Float64Array.from(config.trainedBetas, f32);
  else if (config.betaSchedule === 'linear') betas = torchLinspaceF32(config.betaStart, config.betaEnd, config.numTrainTimesteps);
  else if (config.betaSchedule === 'scaled_linear') {
    betas = torchLinspaceF32(Math.sqrt(config.betaStart), Math.sqrt(config.betaEnd), config.numTrainTimesteps);
    for (let i = 0; i < betas.length; i++) betas[i] = f32(betas[i]! * betas[i]!);
  } else betas = cosineBetas(config.numTrainTimesteps);
  return config.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(betas) : betas;
}

/**
 * `torch.cumprod` of float32 on the CPU: the running product is kept in double (torch's CPU
 * accumulation type for float) and each output is rounded to float32.
 */
export function cumprodF32(values: Float64Array): Float64Array {
  const out = new Float64Array(values.length);
  let acc = 1;
  for (let i = 0; i < values.length; i++) {
    acc *= values[i]!;
    out[i] = f32(acc);
  }
  return out;
}

/** `alphas_cumprod = cumprod(1 - betas)`. */
export function alphasCumprod(betas: Float64Array): Float64Array {
  return cumprodF32(betas.map((b) => f32(1 - b)));
}

/** diffusers' `rescale_zero_terminal_snr` (arXiv 2305.08891, Algorithm 1), in float32 steps. */
function rescaleZeroTerminalSnr(betas: Float64Array): Float64Array {
  const sqrtBar = alphasCumprod(betas).map((a) => f32(Math.sqrt(a)));
  const first = sqrtBar[0]!;
  const last = sqrtBar[sqrtBar.length - 1]!;
  const scale = f32(first / f32(first - last));
  const bar = sqrtBar.map((v) => {
    const shifted = f32(f32(v - last) * scale);
    return f32(shifted * shifted);
  });
  const out = new Float64Array(bar.length);
  for (let i = 0; i < bar.length; i++) out[i] = f32(1 - (i === 0 ? bar[0]! : f32(bar[i]! / bar[i - 1]!)));
  return out;
}

/**
 * The table every scheduler starts from, with the zero-SNR fix-up the sigma-based schedulers
 * apply: when the schedule was rescaled to zero terminal SNR, the last `alphas_cumprod` is set to
 * 2^-24 so that sigma stays finite.
 */
export function noiseSchedule(config: NoiseScheduleConfig, finiteTerminalSnr: boolean): Float64Array {
  const ac = alphasCumprod(makeBetas(config));
  if (finiteTerminalSnr && config.rescaleBetasZeroSnr) ac[ac.length - 1] = 2 ** -24;
  return ac;
}

/** `((1 - ac) / ac) ** 0.5` per training timestep, as torch computes it in float32. */
export function sigmasFromAlphasCumprod(ac: Float64Array): Float64Array {
  return ac.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}
