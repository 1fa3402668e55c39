/**
 * The `omni-synthetic-v1` weight recipe (the golden fixtures' `SYNTHETIC.md`): every weight of a
 * full-size model is a pure function of a recipe seed, the tensor's state-dict key and the
 * element's flat index, so a model of gigabytes can be rebuilt bit-exactly, in any order and in
 * chunks, without shipping a file.
 */

/** The name of the one recipe this library implements. */
export const SYNTHETIC_RECIPE = 'omni-synthetic-v1';

/** Element types the recipe defines: every float tensor is F32; integer buffers are I64. */
export type RecipeDType = 'F32' | 'I64';

/** One tensor of a recipe state dict, as `tensors.json` lists it. */
export interface RecipeTensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: RecipeDType;
}

/**
 * How a tensor's values are made, decided from the dtype, the key and the shape alone:
 * `index` (I64: the flat index), `scaled` (a `weight` of ≥ 2 dims: v · s_k), `onePlus` (a `weight`
 * of ≤ 1 dim: 1 + v/8), `bias` (v/8) and `plain` (v).
 */
export type RecipeRule = 'index' | 'scaled' | 'onePlus' | 'bias' | 'plain';

/** Bytes per element of each recipe dtype. */
export const RECIPE_DTYPE_BYTES: Readonly<Record<RecipeDType, number>> = { F32: 4, I64: 8 };

/** 32-bit FNV-1a of the UTF-8 bytes of `key`, as an unsigned integer. */
export function fnv1a32(key: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(key)) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The `lowbias32` integer mixer, on and to unsigned 32-bit integers. */
export function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Elements of a tensor of `shape` (a scalar has one). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** The rule of a tensor; "ends with" is a plain suffix test on the whole key. */
export function recipeRule(spec: RecipeTensorSpec): RecipeRule {
  if (spec.dtype === 'I64') return 'index';
  if (spec.name.endsWith('weight')) return spec.shape.length >= 2 ? 'scaled' : 'onePlus';
  if (spec.name.endsWith('bias')) return 'bias';
  return 'plain';
}

/**
 * `s_k = f32(sqrt(3) / sqrt(fan_in))`, `fan_in = prod(shape[1:])`: computed in float64 (two
 * correctly rounded roots and a division, as the recipe states) and rounded once to float32.
 */
export function recipeScale(shape: readonly number[]): number {
  return Math.fround(Math.sqrt(3) / Math.sqrt(elementCount(shape.slice(1))));
}

/** The per-element multiplier of a uniform index, `0x9E3779B9`. */
const GOLDEN = 0x9e3779b9;

/**
 * One tensor of the recipe, ready to produce any range of its elements. Each element depends
 * only on (seed_k, index), so ranges can be made in any order and never need the whole tensor.
 */
export class RecipeTensor {
  readonly spec: RecipeTensorSpec;
  readonly rule: RecipeRule;
  /** `FNV1a32(key) ^ seed`. */
  readonly seedK: number;
  /** Elements in the tensor. */
  readonly count: number;
  /** Bytes of its little-endian data. */
  readonly byteLength: number;
  /** value = v · a + b, exact in float64 for every float rule, then rounded once to float32. */
  readonly #a: number;
  readonly #b: number;

  /** `seed` is the recipe seed, an unsigned 32-bit integer. */
  constructor(spec: RecipeTensorSpec, seed: number) {
    this.spec = spec;
    this.rule = recipeRule(spec);
    this.seedK = (fnv1a32(spec.name) ^ seed) >>> 0;
    this.count = elementCount(spec.shape);
    this.byteLength = this.count * RECIPE_DTYPE_BYTES[spec.dtype];
    // v has 24 significant bits and s_k 24, so v·s_k is exact in float64; v/8 is exact and
    // 1 + v/8 needs at most 27 bits: a float64 product or sum is exact, and the Float32Array
    // store is the one rounding the recipe asks for.
    [this.#a, this.#b] =
      this.rule === 'scaled' ? [recipeScale(spec.shape), 0] : this.rule === 'onePlus' ? [0.125, 1] : this.rule === 'bias' ? [0.125, 0] : [1, 0];
  }

  /** The uniform `v` in [-1, 1) of element `i` (before the rule). */
  uniform(i: number): number {
    return (lowbias32((this.seedK ^ Math.imul(i, GOLDEN)) >>> 0) >>> 8) * 2 ** -23 - 1;
  }

  /**
   * Writes elements [start, start + out.length) of a float tensor into `out`. Throws
   * `RangeError` for an I64 tensor (see {@link fillIndices}) or a range outside the tensor.
   */
  fill(start: number, out: Float32Array): void {
    if (this.rule === 'index') throw new RangeError(`recipe tensor "${this.spec.name}" is I64; fill it with fillIndices`);
    this.#checkRange(start, out.length);
    const seedK = this.seedK | 0;
    const a = this.#a;
    const b = this.#b;
    // i · 0x9E3779B9 mod 2^32, advanced by one addition per element.
    let step = Math.imul(start, GOLDEN);
    for (let j = 0; j < out.length; j++) {
      let x = seedK ^ step;
      x ^= x >>> 16;
      x = Math.imul(x, 0x7feb352d);
      x ^= x >>> 15;
      x = Math.imul(x, 0x846ca68b);
      x ^= x >>> 16;
      out[j] = ((x >>> 8) * 2 ** -23 - 1) * a + b;
      step = (step + GOLDEN) | 0;
    }
  }

  /**
   * Writes elements [start, start + n) of an I64 tensor (each its own flat index) as
   * little-endian int64 words: `out` holds two 32-bit words per element, low word first.
   */
  fillIndices(start: number, out: Uint32Array): void {
    if (this.rule !== 'index') throw new RangeError(`recipe tensor "${this.spec.name}" is ${this.spec.dtype}; fill it with fill`);
    if (out.length % 2 !== 0) throw new RangeError('fillIndices needs two 32-bit words per element');
    const n = out.length / 2;
    this.#checkRange(start, n);
    for (let j = 0; j < n; j++) {
      const i = start + j;
      out[2 * j] = i >>> 0;
      out[2 * j + 1] = Math.floor(i / 2 ** 32);
    }
  }

  #checkRange(start: number, n: number): void {
    if (!Number.isSafeInteger(start) || start < 0 || start + n > this.count) {
      throw new RangeError(`recipe tensor "${this.spec.name}": elements [${start}, ${start + n}) are outside its ${this.count}`);
    }
  }
}
