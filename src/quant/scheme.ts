/**
 * Weight-only quantization as omni-diffusion stores it, on the GPU and in quantized checkpoints.
 *
 * A weight of logical shape `[rows, ...]` (a Linear's `[N, K]`, a conv's `[Cout, Cin, kh, kw]`)
 * is read as `rows` rows of `K = numel / rows` values, the PyTorch memory order. Each row is cut
 * into groups of `groupSize` consecutive values (the last group may be shorter); a group has one
 * scale. Symmetric, no zero point:
 *
 *     scale[r, g] = f16(absmax(row r, group g) / qmax)      qmax = 127 (int8), 7 (int4)
 *     q[r, k]     = clamp(round(w[r, k] / scale[r, k / groupSize]), -qmax, qmax)   (0 where the scale is 0)
 *     w'[r, k]    = scale[r, floor(k / groupSize)] · q[r, k]
 *
 * Packing: each row's values fill whole little-endian u32 words, value `k` of a row in word
 * `floor(k · bits / 32)` at bits `(k mod (32 / bits)) · bits`; int8 as a two's-complement byte,
 * int4 as the nibble `q + 8`. So `K` must be a multiple of `32 / bits` (4 or 8) and a row is
 * `K · bits / 32` words. Scales are f16, row-major `[rows, ceil(K / groupSize)]`.
 */
export interface QuantScheme {
  readonly bits: QuantBits;
  /** Values per scale along a row; a multiple of 8. Per output channel: the row length `K`. */
  readonly groupSize: number;
}

export type QuantBits = 8 | 4;

/** The bit widths the kernels read. */
export const QUANT_BITS: readonly QuantBits[] = [8, 4];

/** The largest magnitude of a quantized value. */
export function qmax(bits: QuantBits): number {
  return bits === 8 ? 127 : 7;
}

/** Rows and values per row of a weight of `shape` (dim 0 is the row). */
export function rowsOf(shape: readonly number[]): { rows: number; k: number } {
  const rows = shape[0] ?? 1;
  const k = shape.slice(1).reduce((a, b) => a * b, 1);
  return { rows, k };
}

/** Scales per row. */
export function groupsPerRow(k: number, groupSize: number): number {
  return Math.ceil(k / groupSize);
}

/** Why a weight of `shape` cannot be stored under `scheme`, or null when it can. */
export function unquantizableReason(shape: readonly number[], scheme: QuantScheme): string | null {
  const { k } = rowsOf(shape);
  const perWord = 32 / scheme.bits;
  if (!QUANT_BITS.includes(scheme.bits)) return `bits ${String(scheme.bits)} is not 8 or 4`;
  if (!Number.isInteger(scheme.groupSize) || scheme.groupSize < 8 || scheme.groupSize % 8 !== 0) return `group size ${scheme.groupSize} is not a positive multiple of 8`;
  if (k % perWord !== 0 || k % 4 !== 0) return `its rows of ${k} values do not fill whole ${scheme.bits}-bit words (a multiple of ${Math.max(perWord, 4)})`;
  return null;
}

/** Bytes of the packed values of a weight of `shape`. */
export function packedBytes(shape: readonly number[], bits: QuantBits): number {
  const { rows, k } = rowsOf(shape);
  return (rows * k * bits) / 8;
}

/** Bytes of a weight's f16 scales. */
export function scaleBytes(shape: readonly number[], groupSize: number): number {
  const { rows, k } = rowsOf(shape);
  return rows * groupsPerRow(k, groupSize) * 2;
}
