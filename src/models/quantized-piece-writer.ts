import { decodeTensorBytes, DTYPE_BYTES, type SafetensorsDType } from '../io/dtypes.js';
import { quantizeRows, type QuantizedRows } from '../quant/quantize.js';
import { rowsOf, type QuantScheme } from '../quant/scheme.js';
import type { TensorLike } from '../webgpu/kernels/ops.js';

/** Ops that hold quantized weights filled row batch by row batch (`GpuOps`). */
export interface QuantStreamingOps<T extends TensorLike> {
  emptyQuantized(shape: readonly number[], scheme: QuantScheme): T;
  writeQuantizedRows(t: T, firstRow: number, rows: QuantizedRows): void;
}

export function canStreamQuantized<T extends TensorLike>(ops: object): ops is QuantStreamingOps<T> {
  return typeof (ops as Partial<QuantStreamingOps<T>>).emptyQuantized === 'function' && typeof (ops as Partial<QuantStreamingOps<T>>).writeQuantizedRows === 'function';
}

/**
 * Quantizes one weight as its bytes stream in: each piece's whole rows are decoded, quantized
 * (`quantizeRows`) and written; a partial row waits for the next piece. Host memory holds one
 * piece and one row at most, never the weight, and no float copy of it reaches the device.
 */
export class QuantPieceWriter<T extends TensorLike> {
  #carry = new Uint8Array(0);
  #rowsWritten = 0;
  readonly #rowBytes: number;
  readonly #k: number;

  constructor(
    private readonly ops: QuantStreamingOps<T>,
    private readonly tensor: T,
    /** The checkpoint's dtype of the tensor. */
    readonly dtype: SafetensorsDType,
    shape: readonly number[],
    private readonly scheme: QuantScheme,
  ) {
    this.#k = rowsOf(shape).k;
    this.#rowBytes = this.#k * DTYPE_BYTES[dtype];
  }

  /** Writes the whole rows `piece` completes; returns the device bytes written (packed values and scales). */
  push(piece: Uint8Array): number {
    const data = this.#carry.byteLength ? concat(this.#carry, piece) : piece;
    const rows = Math.floor(data.byteLength / this.#rowBytes);
    let written = 0;
    if (rows > 0) {
      const values = decodeTensorBytes(this.dtype, data.subarray(0, rows * this.#rowBytes)) as Float32Array;
      const q = quantizeRows(values, this.#k, this.scheme);
      this.ops.writeQuantizedRows(this.tensor, this.#rowsWritten, q);
      this.#rowsWritten += rows;
      written = q.words.byteLength + q.scales.byteLength;
    }
    this.#carry = data.slice(rows * this.#rowBytes);
    return written;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
