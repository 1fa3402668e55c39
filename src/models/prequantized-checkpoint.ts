import { QuantizedWeightError } from '../io/errors.js';
import type { SafetensorsEntry } from '../io/safetensors.js';
import { packedDType, packedShape, scaleKey, scaleShape } from '../quant/prequantized-format.js';
import type { ParsedQuantizationConfig } from '../quant/quantization-config.js';
import type { QuantScheme } from '../quant/scheme.js';
import type { TensorLike } from '../webgpu/kernels/ops.js';

/** Ops that take a pre-quantized checkpoint's packed values and scales as they are (`GpuOps`). */
export interface PrequantizedOps<T extends TensorLike> {
  emptyQuantized(shape: readonly number[], scheme: QuantScheme): T;
  writeQuantizedValueBytes(t: T, byteOffset: number, bytes: Uint8Array): void;
  writeQuantizedScaleRows(t: T, firstRow: number, scales: Uint16Array): void;
}

export function canLoadPrequantized<T extends TensorLike>(ops: object): ops is PrequantizedOps<T> {
  const o = ops as Partial<PrequantizedOps<T>>;
  return typeof o.emptyQuantized === 'function' && typeof o.writeQuantizedValueBytes === 'function' && typeof o.writeQuantizedScaleRows === 'function';
}

/**
 * Checks a pre-quantized checkpoint's header against its `quantization_config`: each module's
 * packed values (`I8` `[rows, k]` or `U8` `[rows, k / 2]`) and its `_scale` tensor (`F16`
 * `[rows, groups]`) are there with those dtypes and shapes. A fault is a `QuantizedWeightError`
 * naming `file`, the tensor and the field, raised before any byte of data is read.
 */
export function checkPrequantizedHeader(file: string, entries: readonly SafetensorsEntry[], config: ParsedQuantizationConfig): void {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const { bits, groupSize } = config.scheme;
  const expect = (name: string, dtype: string, shape: readonly number[]): void => {
    const entry = byName.get(name);
    const want = `[${shape.join(', ')}]`;
    if (!entry) throw new QuantizedWeightError(file, name, 'missing', `${dtype} ${want}`, null);
    if (entry.dtype !== dtype) throw new QuantizedWeightError(file, name, 'dtype', dtype, entry.dtype);
    const same = entry.shape.length === shape.length && entry.shape.every((d, i) => d === shape[i]);
    if (!same) throw new QuantizedWeightError(file, name, 'shape', want, `[${entry.shape.join(', ')}]`);
  };
  for (const [key, shape] of config.modules) {
    expect(key, packedDType(bits), packedShape(shape, bits));
    expect(scaleKey(key), 'F16', scaleShape(shape, groupSize));
  }
}

/**
 * Copies one weight's packed values to its device tensor as they stream in: the file's bytes are
 * the device's words, so nothing is decoded; bytes short of a whole word wait for the next piece
 * (a tensor's bytes are whole words, so the last piece leaves none).
 */
export class PackedValueWriter<T extends TensorLike> {
  #carry = new Uint8Array(0);
  #written = 0;

  constructor(
    private readonly ops: PrequantizedOps<T>,
    private readonly tensor: T,
  ) {}

  /** Writes the whole words `piece` completes; returns the bytes written. */
  push(piece: Uint8Array): number {
    const data = this.#carry.byteLength ? concat(this.#carry, piece) : piece;
    const usable = data.byteLength - (data.byteLength % 4);
    if (usable > 0) {
      // A copy: the piece is a view into the reader's chunk, at any alignment.
      this.ops.writeQuantizedValueBytes(this.tensor, this.#written, data.slice(0, usable));
      this.#written += usable;
    }
    this.#carry = data.slice(usable);
    return usable;
  }
}

/**
 * Copies one weight's f16 scales to its device tensor as they stream in, whole rows at a time
 * (the device pads each row to whole words); a partial row waits for the next piece.
 */
export class ScaleRowWriter<T extends TensorLike> {
  #carry = new Uint8Array(0);
  #rows = 0;
  readonly #rowBytes: number;

  constructor(
    private readonly ops: PrequantizedOps<T>,
    private readonly tensor: T,
    groupsPerRow: number,
  ) {
    this.#rowBytes = groupsPerRow * 2;
  }

  /** Writes the whole rows `piece` completes; returns their bytes (as stored in the file, unpadded). */
  push(piece: Uint8Array): number {
    const data = this.#carry.byteLength ? concat(this.#carry, piece) : piece;
    const rows = Math.floor(data.byteLength / this.#rowBytes);
    const usable = rows * this.#rowBytes;
    if (rows > 0) {
      // Little-endian f16 bits, as every host that runs WebGPU reads them; the slice aligns them.
      this.ops.writeQuantizedScaleRows(this.tensor, this.#rows, new Uint16Array(data.slice(0, usable).buffer));
      this.#rows += rows;
    }
    this.#carry = data.slice(usable);
    return usable;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
