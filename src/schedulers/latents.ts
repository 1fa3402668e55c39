/**
 * The latent tensor abstraction schedulers are written against. A scheduler step is one
 * elementwise linear combination with per-step coefficients (computed in TS):
 *
 *   y     = clamp(Σ pre_i · x_i)              (the predicted original sample, optionally clipped)
 *   out_k = Σ c_ki · x_i + c_ky · y           (prev_sample, and optionally a second output)
 *
 * over at most {@link MAX_COMBINE_INPUTS} same-sized tensors. The host backend runs it on
 * Float32Arrays (unit tests, CPU fallback); the GPU backend runs it as one WGSL dispatch, so
 * multistep state (PNDM's ets, DPM-Solver's previous outputs) stays on the device.
 */

/** Most input tensors one combination reads (sample, model output, noise and up to three history tensors). */
export const MAX_COMBINE_INPUTS = 6;
/** Most outputs one combination writes. */
export const MAX_COMBINE_OUTPUTS = 2;

/** One combination, in the form a backend executes. */
export interface CombinePlan<T> {
  /** Distinct input tensors, all of the same element count. */
  readonly inputs: readonly T[];
  /** Coefficients of `y`, one per input. */
  readonly pre: readonly number[];
  /** Bounds `y` is clamped to, or null. */
  readonly clip: readonly [number, number] | null;
  /** Per output: one coefficient per input, and the coefficient of `y`. */
  readonly outputs: readonly { readonly coeffs: readonly number[]; readonly y: number }[];
}

/** Where latents live and how a combination runs on them. */
export interface LatentBackend<T> {
  /** A new tensor holding a copy of `data`. */
  fromArray(data: Float32Array, shape: readonly number[]): T;
  /** The tensor's values (waits for pending GPU work). */
  toArray(tensor: T): Promise<Float32Array>;
  shapeOf(tensor: T): readonly number[];
  /** Runs a combination; returns new tensors the caller owns, one per output. */
  combine(plan: CombinePlan<T>): T[];
  /** Hands a tensor's memory back. The host backend does nothing. */
  release(tensor: T): void;
}

/** Stands for `y` (the clipped predicted original) in a term list. */
export const Y = Symbol('y');

/** `coefficient · tensor`; the tensor may be {@link Y}. */
export type Term<T> = readonly [number, T | typeof Y];

/** A combination written as term lists; see {@link runCombination}. */
export interface Combination<T> {
  y?: readonly Term<T>[];
  clip?: readonly [number, number] | null;
  outputs: readonly (readonly Term<T>[])[];
}

/** Collects the distinct tensors of a {@link Combination} into a {@link CombinePlan} and runs it. */
export function runCombination<T>(backend: LatentBackend<T>, combination: Combination<T>): T[] {
  const inputs: T[] = [];
  const slot = (t: T): number => {
    let i = inputs.indexOf(t);
    if (i < 0) i = inputs.push(t) - 1;
    return i;
  };
  const gather = (terms: readonly Term<T>[]): { coeffs: number[]; y: number } => {
    const coeffs: number[] = [];
    let y = 0;
    for (const [c, t] of terms) {
      if (t === Y) {
        y += c;
        continue;
      }
      const i = slot(t);
      coeffs[i] = (coeffs[i] ?? 0) + c;
    }
    return { coeffs, y };
  };
  const pre = gather(combination.y ?? []).coeffs;
  const outputs = combination.outputs.map(gather);
  if (inputs.length > MAX_COMBINE_INPUTS) throw new RangeError(`A scheduler combination reads ${inputs.length} tensors; at most ${MAX_COMBINE_INPUTS} are supported.`);
  const dense = (c: number[]): number[] => inputs.map((_, i) => c[i] ?? 0);
  return backend.combine({
    inputs,
    pre: dense(pre),
    clip: combination.clip ?? null,
    outputs: outputs.map((o) => ({ coeffs: dense(o.coeffs), y: o.y })),
  });
}

/** `Σ c_i · x_i` as a new tensor. */
export function linearCombination<T>(backend: LatentBackend<T>, terms: readonly Term<T>[]): T {
  return runCombination(backend, { outputs: [terms] })[0]!;
}

/** A latent on the host: flat float32 values in C order over `shape`. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * The host backend. Coefficients are rounded to float32 (as the GPU's uniforms hold them) and
 * each element is accumulated in float64, then rounded to float32.
 */
export const hostLatents: LatentBackend<HostTensor> = {
  fromArray: (data, shape) => ({ shape: [...shape], data: Float32Array.from(data) }),
  toArray: (tensor) => Promise.resolve(Float32Array.from(tensor.data)),
  shapeOf: (tensor) => tensor.shape,
  combine(plan) {
    const first = plan.inputs[0];
    if (first === undefined) throw new RangeError('A scheduler combination needs at least one input tensor.');
    const n = first.data.length;
    for (const t of plan.inputs) {
      if (t.data.length !== n) throw new RangeError(`Scheduler tensors differ in size: ${t.data.length} vs ${n} elements.`);
    }
    const xs = plan.inputs.map((t) => t.data);
    const pre = plan.pre.map(Math.fround);
    const outs = plan.outputs.map((o) => ({ coeffs: o.coeffs.map(Math.fround), y: Math.fround(o.y), data: new Float32Array(n) }));
    const [lo, hi] = plan.clip ?? [-Infinity, Infinity];
    for (let e = 0; e < n; e++) {
      let y = 0;
      for (let i = 0; i < xs.length; i++) y += pre[i]! * xs[i]![e]!;
      y = Math.min(hi, Math.max(lo, Math.fround(y)));
      for (const o of outs) {
        let acc = o.y === 0 ? 0 : o.y * y;
        for (let i = 0; i < xs.length; i++) if (o.coeffs[i] !== 0) acc += o.coeffs[i]! * xs[i]![e]!;
        o.data[e] = acc;
      }
    }
    return outs.map((o) => ({ shape: [...first.shape], data: o.data }));
  },
  release: () => undefined,
};

/** Multiplies every coefficient of a term list by `factor`. */
export function scaleTerms<T>(terms: readonly Term<T>[], factor: number): Term<T>[] {
  return terms.map(([c, t]) => [c * factor, t] as const);
}
