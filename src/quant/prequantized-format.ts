import { groupsPerRow, rowsOf, type QuantBits } from './scheme.js';

/**
 * How a pre-quantized checkpoint stores one quantized weight `K` (see README, "Quantized
 * models"): `K` holds the packed values, `${K}_scale` the f16 scales, both in the component's own
 * safetensors file beside its other (f16) tensors. The packed bytes are exactly the little-endian
 * u32 words of `QuantScheme`, so a loader copies them to the device as they are.
 */

/** The key of the scales of the quantized weight `key`. */
export function scaleKey(key: string): string {
  return `${key}_scale`;
}

/** The safetensors dtype of packed values: int8 as two's-complement bytes, int4 as nibble pairs (`q + 8`). */
export function packedDType(bits: QuantBits): 'I8' | 'U8' {
  return bits === 8 ? 'I8' : 'U8';
}

/** The stored shape of the packed values of a weight of logical `shape`: `[rows, k]` (int8) or `[rows, k / 2]` (int4). */
export function packedShape(shape: readonly number[], bits: QuantBits): number[] {
  const { rows, k } = rowsOf(shape);
  return [rows, (k * bits) / 8];
}

/** The stored shape of the scales of a weight of logical `shape`: `[rows, ceil(k / groupSize)]`. */
export function scaleShape(shape: readonly number[], groupSize: number): number[] {
  const { rows, k } = rowsOf(shape);
  return [rows, groupsPerRow(k, groupSize)];
}
