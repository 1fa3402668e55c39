import type { ByteSource, ProgressCallback } from '../io/byte-source.js';
import { StateDictError } from '../io/errors.js';
import { streamSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import { DTYPE_BYTES, decodeTensorBytes, type SafetensorsDType } from '../io/dtypes.js';
import type { QuantPolicy } from '../quant/policy.js';
import { canStreamQuantized, QuantPieceWriter, type QuantStreamingOps } from './quantized-piece-writer.js';
import { canLoadPrequantized, checkPrequantizedHeader, PackedValueWriter, ScaleRowWriter, type PrequantizedOps } from './prequantized-checkpoint.js';
import type { ParsedQuantizationConfig } from '../quant/quantization-config.js';
import { scaleKey } from '../quant/prequantized-format.js';
import { groupsPerRow, rowsOf } from '../quant/scheme.js';
import { StateDict } from '../io/state-dict.js';
import type { TensorDType, TensorLike, TensorOps } from '../webgpu/kernels/ops.js';

/** Options of {@link streamStateDictToDevice}. */
export interface DeviceStreamOptions {
  /** Name of the checkpoint in errors and progress. */
  file: string;
  /** Storage precision of the uploaded float weights. */
  dtype: TensorDType;
  /** Keys the component never uses (e.g. the VAE's `encoder.`): streamed past, not uploaded. */
  skip?: (name: string) => boolean;
  onProgress?: ProgressCallback;
  /**
   * Device bytes written, piece by piece: elements times the size of `dtype` (an f32 checkpoint
   * loaded as f16 writes half its bytes). Skipped and integer tensors are not written.
   */
  onUpload?: (bytes: number) => void;
  signal?: AbortSignal;
  /** Weights the policy selects are quantized as they stream (on ops that hold quantized weights). */
  quantize?: QuantPolicy | null;
  /**
   * Receives the one message per checkpoint that lists the weights `quantize` would take but
   * whose rows the scheme cannot pack, which stay f16 (the documented fallback). Defaults to
   * `console.info`.
   */
  onQuantFallback?: (message: string) => void;
  /**
   * The checkpoint is pre-quantized (its component's `quantization_config`): the config's
   * modules are checked on the header, then their packed values and `_scale` tensors are copied
   * to quantized device tensors of the modules' logical shapes, as they are. The `_scale` keys
   * are consumed here: they are never leftovers of the checkpoint.
   */
  prequantized?: ParsedQuantizationConfig | null;
}

/**
 * A checkpoint whose float tensors already live on the device. It keeps `StateDict`'s checks
 * (missing keys, shapes, renames, leftovers); models take device tensors from it instead of
 * host arrays. Each entry's `data` is a zero-length placeholder that identifies its device tensor.
 */
export class DeviceStateDict<T extends TensorLike> extends StateDict {
  readonly #device = new Map<object, T>();
  readonly #taken = new Set<object>();

  constructor(
    private readonly ops: TensorOps<T>,
    entries: Array<{ entry: SafetensorsTensor; tensor: T | null }>,
    file: string,
  ) {
    super(
      entries.map((e) => e.entry),
      file,
    );
    for (const { entry, tensor } of entries) if (tensor) this.#device.set(entry.data, tensor);
  }

  /** The device tensor under `key`, checked like `take`, viewed in `expectedShape` after a reshaping rename. */
  takeDevice(key: string, expectedShape: readonly number[]): T {
    const entry = this.take(key, expectedShape);
    const tensor = this.#device.get(entry.data);
    if (!tensor) throw new StateDictError(this.file, `${this.file}: weight "${key}" was skipped while streaming (dtype ${entry.dtype}), but the model needs it.`);
    this.#taken.add(entry.data);
    const same = tensor.shape.length === expectedShape.length && tensor.shape.every((d, i) => d === expectedShape[i]);
    if (same) return tensor;
    const view = this.ops.reshape(tensor, expectedShape);
    this.ops.release(tensor);
    return view;
  }

  /** Frees every uploaded tensor no model took (ignored keys); call once the model is built. */
  releaseUntaken(): void {
    for (const [key, tensor] of this.#device) if (!this.#taken.has(key)) this.ops.release(tensor);
    this.#device.clear();
  }
}

/**
 * Ops that can fill a tensor piece by piece (the GPU runtime). With them,
 * `streamStateDictToDevice` writes each piece of a tensor as its bytes arrive and never
 * assembles a whole tensor on the host (the OpenCLIP-H token embedding alone is 202 MB of f32).
 */
export interface StreamingUploadOps<T extends TensorLike> extends TensorOps<T> {
  emptyForWrite(shape: readonly number[], dtype: TensorDType): T;
  /** Elements [offset, offset + values.length); f16 pieces start on even elements, an odd count only ends the tensor. */
  writeElements(t: T, offset: number, values: Float32Array): void;
}

function canStream<T extends TensorLike>(ops: TensorOps<T>): ops is StreamingUploadOps<T> {
  return typeof (ops as Partial<StreamingUploadOps<T>>).writeElements === 'function' && typeof (ops as Partial<StreamingUploadOps<T>>).emptyForWrite === 'function';
}

/**
 * Streams a safetensors checkpoint straight to the device: host memory holds one read chunk
 * (a few MiB) at a time, never the file, nor, on ops that can write pieces
 * (`StreamingUploadOps`: the GPU runtime), a whole tensor; other ops get each float tensor
 * whole as soon as its bytes have arrived. Integer tensors (e.g. CLIP's `position_ids`) and
 * skipped keys are kept as entries only, so `finish()` still accounts for them.
 */
export async function streamStateDictToDevice<T extends TensorLike>(
  ops: TensorOps<T>,
  source: ByteSource,
  options: DeviceStreamOptions,
): Promise<DeviceStateDict<T>> {
  const entries: Array<{ entry: SafetensorsTensor; tensor: T | null }> = [];
  const base = {
    file: options.file,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  const deviceBytes = options.dtype === 'f16' ? 2 : 4;
  const wanted = (name: string, dtype: string): boolean => FLOAT_DTYPES.has(dtype) && !(options.skip?.(name) ?? false);
  const quantize = options.quantize ?? null;
  if (quantize && !(canStream(ops) && canStreamQuantized<T>(ops))) throw new TypeError(`${options.file}: quantized weights need ops that hold them (GpuOps)`);
  const prequantized = options.prequantized ?? null;
  if (prequantized && !(canStream(ops) && canLoadPrequantized<T>(ops))) throw new TypeError(`${options.file}: pre-quantized weights need ops that hold them (GpuOps)`);
  /** The `_scale` keys of the pre-quantized modules: read into their weights, never entries of their own. */
  const scaleKeys = new Set(prequantized ? [...prequantized.modules.keys()].map(scaleKey) : []);
  try {
    if (canStream(ops)) {
      const pieces = new Map<string, PieceWriter<T>>();
      const quantized = new Map<string, QuantPieceWriter<T>>();
      /** Pre-quantized modules' packed values and scales, by checkpoint key; each returns device bytes written. */
      const copied = new Map<string, PackedValueWriter<T> | ScaleRowWriter<T>>();
      /** Checkpoint bytes of each tensor streamed so far, to report device bytes. */
      const streamed = new Map<string, number>();
      await streamSafetensors(source, {
        ...base,
        onHeader: (header) => {
          if (prequantized) checkPrequantizedHeader(options.file, header.entries, prequantized);
          const fallbacks: string[] = [];
          for (const e of header.entries) {
            if (scaleKeys.has(e.name)) continue;
            const logical = prequantized?.modules.get(e.name);
            if (prequantized && logical) {
              // The model takes the weight by its logical shape; the file's is the packed one.
              const entry = { name: e.name, dtype: e.dtype, shape: [...logical], data: new Float32Array(0) };
              const q = ops as unknown as PrequantizedOps<T>;
              const tensor = options.skip?.(e.name) ? null : q.emptyQuantized(logical, prequantized.scheme);
              entries.push({ entry, tensor });
              if (tensor) {
                copied.set(e.name, new PackedValueWriter(q, tensor));
                copied.set(scaleKey(e.name), new ScaleRowWriter(q, tensor, groupsPerRow(rowsOf(logical).k, prequantized.scheme.groupSize)));
              }
              continue;
            }
            const upload = wanted(e.name, e.dtype);
            const entry = { name: e.name, dtype: e.dtype, shape: e.shape, data: new Float32Array(0) };
            if (upload && quantize?.select(e.name, e.shape)) {
              const q = ops as unknown as QuantStreamingOps<T>;
              const tensor = q.emptyQuantized(e.shape, quantize.scheme);
              entries.push({ entry, tensor });
              quantized.set(e.name, new QuantPieceWriter(q, tensor, e.dtype as SafetensorsDType, e.shape, quantize.scheme));
              continue;
            }
            const tensor = upload ? ops.emptyForWrite(e.shape, options.dtype) : null;
            if (upload && quantize) {
              const reason = quantize.fallback(e.name, e.shape);
              if (reason) fallbacks.push(`${e.name} [${e.shape.join(', ')}]: ${reason}`);
            }
            entries.push({ entry, tensor });
            if (tensor) pieces.set(e.name, new PieceWriter(ops, tensor, e.dtype as SafetensorsDType, e.end - e.begin, options.dtype === 'f16'));
          }
          if (quantize && fallbacks.length > 0) (options.onQuantFallback ?? console.info)(quantFallbackMessage(options.file, quantize, fallbacks));
        },
        onTensorChunk: (name, byteOffset, bytes) => {
          const copy = copied.get(name);
          if (copy) {
            const written = copy.push(bytes);
            if (written > 0) options.onUpload?.(written);
            return;
          }
          const q = quantized.get(name);
          if (q) {
            const written = q.push(bytes);
            if (written > 0) options.onUpload?.(written);
            return;
          }
          const piece = pieces.get(name);
          if (!piece) return;
          piece.push(byteOffset, bytes);
          if (options.onUpload) {
            // Whole elements only: a chunk may end inside one, whose bytes count with the next.
            const [src, before] = [DTYPE_BYTES[piece.dtype], streamed.get(name) ?? 0];
            const after = before + bytes.byteLength;
            streamed.set(name, after);
            options.onUpload((Math.floor(after / src) - Math.floor(before / src)) * deviceBytes);
          }
        },
      });
    } else {
      await streamSafetensors(source, {
        ...base,
        onTensor: (t) => {
          const upload = t.data instanceof Float32Array && wanted(t.name, t.dtype);
          entries.push({
            entry: { name: t.name, dtype: t.dtype, shape: t.shape, data: new Float32Array(0) },
            tensor: upload ? ops.upload(t.data as Float32Array, t.shape, options.dtype) : null,
          });
          if (upload) options.onUpload?.((t.data as Float32Array).length * deviceBytes);
        },
      });
    }
  } catch (err) {
    for (const e of entries) if (e.tensor) ops.release(e.tensor);
    throw err;
  }
  return new DeviceStateDict(ops, entries, options.file);
}

/** The fallback message: which weights stay f16 under the scheme, and why (the first few named). */
function quantFallbackMessage(file: string, policy: QuantPolicy, weights: readonly string[]): string {
  const shown = weights.slice(0, 4).join('; ');
  const more = weights.length > 4 ? `; and ${weights.length - 4} more` : '';
  return `omni-diffusion: ${file}: ${weights.length} weight(s) stay f16 instead of int${policy.scheme.bits} (group ${policy.scheme.groupSize}): ${shown}${more}`;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/**
 * Decodes one tensor's bytes as they arrive and writes them to its device tensor. Bytes that do
 * not complete an element (or, for an f16 target, an even number of elements, so that writes
 * stay on 4-byte boundaries) wait for the next piece; the tensor's last piece writes the rest.
 */
class PieceWriter<T extends TensorLike> {
  #carry = new Uint8Array(0);
  #written = 0;
  readonly #unit: number;

  constructor(
    private readonly ops: StreamingUploadOps<T>,
    private readonly tensor: T,
    /** The checkpoint's dtype of the tensor. */
    readonly dtype: SafetensorsDType,
    private readonly bytes: number,
    half: boolean,
  ) {
    this.#unit = DTYPE_BYTES[dtype] * (half ? 2 : 1);
  }

  push(byteOffset: number, piece: Uint8Array): void {
    const data = this.#carry.byteLength ? concatBytes(this.#carry, piece) : piece;
    const last = byteOffset + piece.byteLength === this.bytes;
    const usable = last ? data.byteLength : data.byteLength - (data.byteLength % this.#unit);
    if (usable > 0) {
      const values = decodeTensorBytes(this.dtype, data.subarray(0, usable)) as Float32Array;
      this.ops.writeElements(this.tensor, this.#written, values);
      this.#written += values.length;
    }
    this.#carry = data.slice(usable);
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
