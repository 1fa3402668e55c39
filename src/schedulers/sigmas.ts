/** Sigma tables of the sigma-based schedulers (Euler, Euler ancestral, DPM-Solver), as numpy computes them. */

/** `np.interp(x, arange(len(table)), table)`: piecewise linear, exact at integer `x`. */
export function interpTable(x: number, table: Float64Array): number {
  const last = table.length - 1;
  if (x <= 0) return table[0]!;
  if (x >= last) return table[last]!;
  const j = Math.floor(x);
  if (x === j) return table[j]!;
  const slope = table[j + 1]! - table[j]!;
  return slope * (x - j) + table[j]!;
}

/** Karras et al. (2022) sigmas between the ends of `sigmas` (descending), rho = 7, in float64. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number): number[] {
  const rho = 7;
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  const ramp = steps === 1 ? [0] : Array.from({ length: steps }, (_, i) => (i === steps - 1 ? 1 : i * (1 / (steps - 1))));
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/**
 * diffusers' `_sigma_to_t`: the fractional training timestep whose log-sigma a given sigma has,
 * interpolating linearly in log-sigma between neighbouring entries of `logSigmas` (float32 values).
 */
export function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // argmax of the cumulative count is the last index where dists >= 0 (0 when there is none).
  let lowIdx = 0;
  let running = 0;
  let best = -1;
  for (let i = 0; i < logSigmas.length; i++) {
    if (logSigma - logSigmas[i]! >= 0) running++;
    if (running > best) {
      best = running;
      lowIdx = i;
    }
  }
  lowIdx = Math.min(lowIdx, logSigmas.length - 2);
  const low = logSigmas[lowIdx]!;
  const high = logSigmas[lowIdx + 1]!;
  const w = Math.min(1, Math.max(0, (low - logSigma) / (low - high)));
  return (1 - w) * lowIdx + w * (lowIdx + 1);
}
