import type { ByteSource } from '../io/byte-source.js';
import { decodeTensorBytes, DTYPE_BYTES, type SafetensorsDType } from '../io/dtypes.js';
import { SafetensorsError } from '../io/errors.js';
import { streamSafetensors } from '../io/safetensors.js';
import { encodeHalf } from '../webgpu/half.js';
import type { QuantPolicy } from './policy.js';
import { quantizeRows } from './quantize.js';
import { layoutQuantizedCheckpoint, type OutputTensor, type QuantizedCheckpointLayout } from './quantized-checkpoint-layout.js';
import { groupsPerRow, rowsOf } from './scheme.js';

/** Input bytes decoded and quantized at a time: bounds the host's float copy of a piece. */
const BATCH_BYTES = 4 << 20;

/** What `quantizeCheckpoint` wrote. */
export interface QuantizedCheckpoint {
  readonly layout: QuantizedCheckpointLayout;
  /** Bytes of the input file (header and data). */
  readonly inputBytes: number;
  /** Bytes written (header and data). */
  readonly outputBytes: number;
}

/**
 * Streams a safetensors checkpoint into its pre-quantized form (see `layoutQuantizedCheckpoint`),
 * handing each output byte to `write` in file order: the header as soon as the input's is read
 * (all sizes follow from shapes), then each tensor as its input bytes arrive. Weights are
 * quantized a batch of rows at a time (`quantizeRows`); only a weight's scales wait, until its
 * packed values are written. Host memory holds one input piece, never a component.
 */
export async function quantizeCheckpoint(
  source: ByteSource,
  file: string,
  policy: QuantPolicy,
  write: (bytes: Uint8Array) => Promise<void>,
  options: { signal?: AbortSignal } = {},
): Promise<QuantizedCheckpoint> {
  let layout: QuantizedCheckpointLayout | null = null;
  const converters = new Map<string, Converter>();
  let outputBytes = 0;
  const emit = async (bytes: Uint8Array): Promise<void> => {
    outputBytes += bytes.byteLength;
    if (bytes.byteLength > 0) await write(bytes);
  };
  const header = await streamSafetensors(source, {
    file,
    ...(options.signal ? { signal: options.signal } : {}),
    onHeader: async (h) => {
      layout = layoutQuantizedCheckpoint(h.entries, policy, file);
      // Each input tensor's outputs are consecutive (a packed weight, then its scales): one converter makes them.
      for (const t of layout.tensors) if (t.kind !== 'scale') converters.set(t.source.name, converterFor(t, policy));
      await emit(layout.header);
    },
    onTensorChunk: (name, _offset, bytes) => converters.get(name)!.push(bytes, emit),
  });
  const done = layout as QuantizedCheckpointLayout | null;
  if (!done) throw new SafetensorsError(file, null, 'the checkpoint has no header');
  const expected = done.header.byteLength + done.dataLength;
  if (outputBytes !== expected) throw new SafetensorsError(file, null, `quantizing wrote ${outputBytes} bytes where its header planned ${expected} (an internal error)`);
  return { layout: done, inputBytes: header.dataStart + header.dataLength, outputBytes };
}

type Emit = (bytes: Uint8Array) => Promise<void>;

interface Converter {
  push(piece: Uint8Array, emit: Emit): Promise<void>;
}

function converterFor(t: OutputTensor, policy: QuantPolicy): Converter {
  if (t.kind === 'copy') return { push: (piece, emit) => emit(piece) };
  if (t.kind === 'f16') return new HalfConverter(t.source.dtype);
  return new QuantConverter(t, policy);
}

/** Bytes that did not complete a unit, carried to the next piece. */
class Carry {
  #bytes = new Uint8Array(0);

  /** The carried bytes and `piece`, of which the whole `unit`s are returned and the rest kept. */
  take(piece: Uint8Array, unit: number): Uint8Array {
    const data = this.#bytes.byteLength ? concat(this.#bytes, piece) : piece;
    const usable = data.byteLength - (data.byteLength % unit);
    this.#bytes = data.slice(usable);
    return data.subarray(0, usable);
  }
}

/** A float tensor of another precision, written as f16 element by element (round to nearest even). */
class HalfConverter implements Converter {
  readonly #carry = new Carry();
  readonly #unit: number;
  constructor(private readonly dtype: SafetensorsDType) {
    this.#unit = DTYPE_BYTES[dtype];
  }

  async push(piece: Uint8Array, emit: Emit): Promise<void> {
    const data = this.#carry.take(piece, this.#unit);
    const step = BATCH_BYTES - (BATCH_BYTES % this.#unit);
    for (let at = 0; at < data.byteLength; at += step) {
      const half = encodeHalf(decodeTensorBytes(this.dtype, data.subarray(at, Math.min(data.byteLength, at + step))) as Float32Array);
      await emit(new Uint8Array(half.buffer, half.byteOffset, half.byteLength));
    }
  }
}

/** A weight quantized a batch of whole rows at a time: packed values as they come, then all its scales. */
class QuantConverter implements Converter {
  readonly #carry = new Carry();
  readonly #k: number;
  readonly #rows: number;
  readonly #rowBytes: number;
  readonly #groups: number;
  /** The weight's scales, written once its last row is: `rows · groups` f16 (a small fraction of the weight). */
  readonly #scales: Uint16Array;
  #done = 0;

  constructor(
    private readonly t: OutputTensor,
    private readonly policy: QuantPolicy,
  ) {
    const { rows, k } = rowsOf(t.source.shape);
    this.#k = k;
    this.#rows = rows;
    this.#rowBytes = k * DTYPE_BYTES[t.source.dtype];
    this.#groups = groupsPerRow(k, policy.scheme.groupSize);
    this.#scales = new Uint16Array(rows * this.#groups);
  }

  async push(piece: Uint8Array, emit: Emit): Promise<void> {
    const data = this.#carry.take(piece, this.#rowBytes);
    const batch = Math.max(1, Math.floor(BATCH_BYTES / this.#rowBytes)) * this.#rowBytes;
    for (let at = 0; at < data.byteLength; at += batch) {
      const rows = data.subarray(at, Math.min(data.byteLength, at + batch));
      const q = quantizeRows(decodeTensorBytes(this.t.source.dtype, rows) as Float32Array, this.#k, this.policy.scheme);
      this.#scales.set(q.scales, this.#done * this.#groups);
      this.#done += rows.byteLength / this.#rowBytes;
      await emit(new Uint8Array(q.words.buffer, q.words.byteOffset, q.words.byteLength));
    }
    if (this.#done === this.#rows && data.byteLength > 0) await emit(new Uint8Array(this.#scales.buffer, this.#scales.byteOffset, this.#scales.byteLength));
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
