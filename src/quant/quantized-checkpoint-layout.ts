import type { SafetensorsDType } from '../io/dtypes.js';
import { DTYPE_BYTES } from '../io/dtypes.js';
import { SafetensorsError } from '../io/errors.js';
import type { SafetensorsEntry } from '../io/safetensors-header.js';
import type { QuantPolicy } from './policy.js';
import { packedDType, packedShape, scaleKey, scaleShape } from './prequantized-format.js';

/** How one output tensor is made from its input tensor. */
export type OutputKind =
  /** Bytes as they are (integer tensors, and f16 ones). */
  | 'copy'
  /** A float tensor of another precision, stored as f16. */
  | 'f16'
  /** A quantized weight's packed values. */
  | 'packed'
  /** A quantized weight's f16 scales (made with its packed values, written right after them). */
  | 'scale';

/** One tensor of the output checkpoint. */
export interface OutputTensor {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly kind: OutputKind;
  /** The input tensor it is made from. */
  readonly source: SafetensorsEntry;
  /** Bytes of data. */
  readonly bytes: number;
}

/** The whole output checkpoint, known from the input header alone (every size follows from a shape). */
export interface QuantizedCheckpointLayout {
  /** Output tensors in data order: each input tensor's, in the input's data order, a packed weight followed by its scales. */
  readonly tensors: readonly OutputTensor[];
  /** The 8-byte header length and the JSON header (metadata `{"format":"pt"}`, padded with spaces to a multiple of 8). */
  readonly header: Uint8Array;
  readonly dataLength: number;
  /** The quantized weights by key, with their logical shapes (the config's `modules`). */
  readonly modules: ReadonlyMap<string, readonly number[]>;
}

const FLOAT: ReadonlySet<SafetensorsDType> = new Set(['F32', 'F16', 'BF16', 'F64']);

/**
 * Lays out the pre-quantized checkpoint of an input checkpoint (`entries`, its header; `file`
 * names it in errors): every float weight `policy` selects becomes its packed values and its
 * `_scale` tensor (see `prequantized-format.ts`), every other float tensor f16, the rest as is.
 */
export function layoutQuantizedCheckpoint(entries: readonly SafetensorsEntry[], policy: QuantPolicy, file: string): QuantizedCheckpointLayout {
  const { bits, groupSize } = policy.scheme;
  const tensors: OutputTensor[] = [];
  const modules = new Map<string, readonly number[]>();
  const add = (name: string, dtype: SafetensorsDType, shape: readonly number[], kind: OutputKind, source: SafetensorsEntry): void => {
    tensors.push({ name, dtype, shape, kind, source, bytes: shape.reduce((n, d) => n * d, DTYPE_BYTES[dtype]) });
  };
  for (const e of [...entries].sort((a, b) => a.begin - b.begin)) {
    if (FLOAT.has(e.dtype) && policy.select(e.name, e.shape)) {
      modules.set(e.name, e.shape);
      add(e.name, packedDType(bits), packedShape(e.shape, bits), 'packed', e);
      add(scaleKey(e.name), 'F16', scaleShape(e.shape, groupSize), 'scale', e);
    } else if (FLOAT.has(e.dtype)) {
      add(e.name, 'F16', e.shape, e.dtype === 'F16' ? 'copy' : 'f16', e);
    } else {
      add(e.name, e.dtype, e.shape, 'copy', e);
    }
  }
  const seen = new Set<string>();
  for (const t of tensors) {
    // A checkpoint that already has a `K_scale` beside a weight K to quantize cannot hold both.
    if (seen.has(t.name)) throw new SafetensorsError(file, t.name, 'the quantized checkpoint would hold two tensors of this name (is the input already quantized?)');
    seen.add(t.name);
  }
  let end = 0;
  // Built as text, not JSON.stringify of an object: that would move integer-like keys first.
  const fields = tensors.map((t) => {
    const begin = end;
    end += t.bytes;
    return `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${begin},${end}]}`;
  });
  let json = `{"__metadata__":{"format":"pt"}${fields.map((f) => `,${f}`).join('')}}`;
  json += ' '.repeat((8 - (new TextEncoder().encode(json).byteLength % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const header = new Uint8Array(8 + text.byteLength);
  new DataView(header.buffer).setBigUint64(0, BigInt(text.byteLength), true);
  header.set(text, 8);
  return { tensors, header, dataLength: end, modules };
}
