import { quantizeRows, type QuantizedRows } from '../quant/quantize.js';
import { groupsPerRow, rowsOf, unquantizableReason, type QuantScheme } from '../quant/scheme.js';
import { TensorShapeError } from './errors.js';
import type { GpuRuntime } from './runtime.js';
import type { GpuTensor } from './tensor.js';

/** Rows quantized and written per batch by `uploadQuantized`: a few MiB of host memory at most. */
const ROWS_PER_BATCH = 256;

/**
 * An empty quantized weight of logical `shape` on `rt` (see `QuantScheme`), to be filled row
 * batch by row batch with `writeQuantizedRows`. A shape the scheme cannot pack is a
 * `TensorShapeError` naming why.
 */
export function emptyQuantized(rt: GpuRuntime, shape: readonly number[], scheme: QuantScheme): GpuTensor {
  const why = unquantizableReason(shape, scheme);
  if (why) throw new TensorShapeError(`quantized weight [${shape}]: ${why}`);
  const groups = groupsPerRow(rowsOf(shape).k, scheme.groupSize);
  return rt.allocateQuantized(shape, { bits: scheme.bits, groupSize: scheme.groupSize, groupsPerRow: groups, scaleStride: groups + (groups % 2) });
}

/** Writes whole rows `[firstRow, firstRow + n)` of a weight from `emptyQuantized`: their packed words and scales. */
export function writeQuantizedRows(rt: GpuRuntime, t: GpuTensor, firstRow: number, q: QuantizedRows): void {
  const quant = t.quant;
  if (!quant) throw new TensorShapeError(`writeQuantizedRows: [${t.shape}] ${t.dtype} is not a quantized weight`);
  const { rows, k } = rowsOf(t.shape);
  const n = q.scales.length / quant.groupsPerRow;
  const wordsPerRow = (k * quant.bits) / 32;
  if (!Number.isInteger(n) || firstRow < 0 || firstRow + n > rows || q.words.length !== n * wordsPerRow) {
    throw new TensorShapeError(`writeQuantizedRows: ${q.words.length} words and ${q.scales.length} scales at row ${firstRow} do not fit [${t.shape}] ${t.dtype}`);
  }
  rt.writeBytes(t.chunks[0]!, firstRow * wordsPerRow * 4, new Uint8Array(q.words.buffer, q.words.byteOffset, q.words.byteLength));
  writeQuantizedScaleRows(rt, t, firstRow, q.scales);
}

/**
 * Writes packed values as they are (a pre-quantized checkpoint's bytes: the little-endian words
 * of `QuantScheme`) at `byteOffset` of a weight from `emptyQuantized`; offset and length whole
 * words, as every device write.
 */
export function writeQuantizedValueBytes(rt: GpuRuntime, t: GpuTensor, byteOffset: number, bytes: Uint8Array): void {
  if (!t.quant) throw new TensorShapeError(`writeQuantizedValueBytes: [${t.shape}] ${t.dtype} is not a quantized weight`);
  const { rows, k } = rowsOf(t.shape);
  const total = (rows * k * t.quant.bits) / 8;
  if (byteOffset < 0 || byteOffset % 4 !== 0 || bytes.byteLength % 4 !== 0 || byteOffset + bytes.byteLength > total) {
    throw new TensorShapeError(`writeQuantizedValueBytes: ${bytes.byteLength} bytes at ${byteOffset} do not fit the ${total} packed bytes of [${t.shape}] ${t.dtype} in whole words`);
  }
  rt.writeBytes(t.chunks[0]!, byteOffset, bytes);
}

/** Writes the f16 scales (as bits) of whole rows `[firstRow, firstRow + n)`, `groupsPerRow` per row, of a weight from `emptyQuantized`. */
export function writeQuantizedScaleRows(rt: GpuRuntime, t: GpuTensor, firstRow: number, scales: Uint16Array): void {
  const quant = t.quant;
  if (!quant) throw new TensorShapeError(`writeQuantizedScaleRows: [${t.shape}] ${t.dtype} is not a quantized weight`);
  const n = scales.length / quant.groupsPerRow;
  if (!Number.isInteger(n) || firstRow < 0 || firstRow + n > rowsOf(t.shape).rows) {
    throw new TensorShapeError(`writeQuantizedScaleRows: ${scales.length} scales at row ${firstRow} do not fit [${t.shape}] ${t.dtype}`);
  }
  let padded = scales;
  if (quant.scaleStride !== quant.groupsPerRow) {
    // Each row's scales padded to whole u32 words (see `QuantStorage.scaleStride`).
    padded = new Uint16Array(n * quant.scaleStride);
    for (let r = 0; r < n; r++) padded.set(scales.subarray(r * quant.groupsPerRow, (r + 1) * quant.groupsPerRow), r * quant.scaleStride);
  }
  rt.writeBytes(quant.scales, firstRow * quant.scaleStride * 2, new Uint8Array(padded.buffer, padded.byteOffset, padded.byteLength));
}

/** Quantizes a host weight under `scheme` and uploads it, a batch of rows at a time (in plan mode: only allocates it). */
export function uploadQuantized(rt: GpuRuntime, values: Float32Array, shape: readonly number[], scheme: QuantScheme): GpuTensor {
  const t = emptyQuantized(rt, shape, scheme);
  // Plan mode keeps no data: quantizing a model's generated zeros would be wasted seconds.
  if (rt.mode === 'plan') return t;
  const { rows, k } = rowsOf(shape);
  if (values.length !== rows * k) {
    rt.release(t);
    throw new TensorShapeError(`uploadQuantized: ${values.length} values for shape [${shape}]`);
  }
  for (let r = 0; r < rows; r += ROWS_PER_BATCH) {
    const end = Math.min(rows, r + ROWS_PER_BATCH);
    writeQuantizedRows(rt, t, r, quantizeRows(values.subarray(r * k, end * k), k, scheme));
  }
  return t;
}
