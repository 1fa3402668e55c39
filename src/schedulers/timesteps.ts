/**
 * Inference timestep tables as diffusers builds them with numpy (float64, then rounded or cast).
 * `timestep_spacing` follows arXiv 2305.08891, Table 2.
 */

/** Spacings diffusers names in `timestep_spacing`. */
export const TIMESTEP_SPACINGS = ['linspace', 'leading', 'trailing'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

/** `np.linspace(start, stop, num)` (endpoint included): `i * step + start`, the last value exactly `stop`. */
export function npLinspace(start: number, stop: number, num: number): number[] {
  const div = num - 1;
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(div > 0 ? i * ((stop - start) / div) + start : i * (stop - start) + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** `np.arange(start, stop, step)` for a negative float step. */
export function npArangeDown(start: number, stop: number, step: number): number[] {
  const count = Math.max(0, Math.ceil((stop - start) / step));
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(start + i * step);
  return out;
}

/** `np.round`: halves go to the even neighbour. */
export function npRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The descending timesteps of the DDIM family (DDIM, Euler, Euler ancestral):
 * `linspace` = `linspace(0, N-1, n)` reversed (rounded unless `fractional`), `leading` =
 * `arange(n) * (N // n)` reversed `+ steps_offset`, `trailing` = `round(arange(N, 0, -N/n)) - 1`.
 */
export function spacedTimesteps(spacing: TimestepSpacing, numTrain: number, steps: number, stepsOffset: number, fractional: boolean): number[] {
  if (spacing === 'linspace') {
    const values = npLinspace(0, numTrain - 1, steps).reverse();
    return fractional ? values.map(Math.fround) : values.map(npRound);
  }
  if (spacing === 'leading') {
    const ratio = Math.floor(numTrain / steps);
    const out: number[] = [];
    for (let i = steps - 1; i >= 0; i--) out.push(i * ratio + stepsOffset);
    return out;
  }
  return npArangeDown(numTrain, 0, -numTrain / steps).map((t) => npRound(t) - 1);
}
