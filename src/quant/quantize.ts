import { fromHalfBits, toHalfBits } from '../webgpu/half.js';
import { groupsPerRow, qmax, rowsOf, type QuantScheme } from './scheme.js';

/** A weight quantized on the host: packed words and f16 scales (see `QuantScheme`). */
export interface QuantizedRows {
  /** `rows · K · bits / 32` words. */
  readonly words: Uint32Array;
  /** `rows · groupsPerRow` f16 scales, as their bits. */
  readonly scales: Uint16Array;
}

/**
 * Quantizes `rows` whole rows of `k` values (`values.length === rows · k`) under `scheme`; the
 * caller streams a weight through it a few rows at a time. Scales are rounded to f16 first, and
 * the values quantized with the rounded scale, so dequantizing reproduces exactly what the
 * kernels compute.
 */
export function quantizeRows(values: Float32Array, k: number, scheme: QuantScheme): QuantizedRows {
  const rows = values.length / k;
  if (!Number.isInteger(rows)) throw new RangeError(`quantizeRows: ${values.length} values are not whole rows of ${k}`);
  const { bits, groupSize } = scheme;
  const max = qmax(bits);
  const perWord = 32 / bits;
  const groups = groupsPerRow(k, groupSize);
  const words = new Uint32Array((rows * k) / perWord);
  const scales = new Uint16Array(rows * groups);
  const mask = (1 << bits) - 1;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const start = r * k + g * groupSize;
      const end = r * k + Math.min(k, (g + 1) * groupSize);
      let absmax = 0;
      for (let i = start; i < end; i++) absmax = Math.max(absmax, Math.abs(values[i]!));
      const h = toHalfBits(absmax / max);
      scales[r * groups + g] = h;
      const scale = fromHalfBits(h);
      for (let i = start; i < end; i++) {
        const q = scale === 0 ? 0 : Math.max(-max, Math.min(max, Math.round(values[i]! / scale)));
        const stored = bits === 8 ? q & 0xff : q + 8;
        const w = i / perWord;
        words[w | 0] = (words[w | 0]! | ((stored & mask) << ((i % perWord) * bits))) >>> 0;
      }
    }
  }
  return { words, scales };
}

/** The weight a quantized one stands for, `scale · q`, in float64: the reference the kernels are tested against. */
export function dequantize(q: QuantizedRows, shape: readonly number[], scheme: QuantScheme): Float64Array {
  const { rows, k } = rowsOf(shape);
  const { bits, groupSize } = scheme;
  const perWord = 32 / bits;
  const groups = groupsPerRow(k, groupSize);
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) {
      const i = r * k + j;
      const raw = (q.words[Math.floor(i / perWord)]! >>> ((i % perWord) * bits)) & ((1 << bits) - 1);
      const v = bits === 8 ? (raw << 24) >> 24 : raw - 8;
      out[i] = fromHalfBits(q.scales[r * groups + Math.floor(j / groupSize)]!) * v;
    }
  }
  return out;
}
