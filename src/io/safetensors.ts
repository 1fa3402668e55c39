import { openByteSource, throwIfAborted, type ByteSource, type ProgressCallback } from './byte-source.js';
import { decodeTensorBytes, type SafetensorsDType, type TensorData } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { parseSafetensorsHeader, readHeaderLength, type HeaderOptions, type SafetensorsEntry, type SafetensorsHeader } from './safetensors-header.js';

export {
  MAX_DATA_BYTES,
  MAX_HEADER_BYTES,
  MAX_TENSOR_BYTES,
  parseSafetensorsHeader,
  readHeaderLength,
  type HeaderOptions,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from './safetensors-header.js';

/** A decoded tensor. */
export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  data: TensorData;
}

/** Options of `streamSafetensors`. Callbacks may return promises; reading waits for them. */
export interface StreamSafetensorsOptions extends HeaderOptions {
  /** Name used in errors and progress events (default: `model.safetensors`). */
  file?: string;
  signal?: AbortSignal;
  /** Called once the header is read and validated, before any tensor data. */
  onHeader?: (header: SafetensorsHeader) => void | Promise<void>;
  /**
   * Raw bytes of a tensor as they arrive, without assembling whole tensors: `byteOffset` is the
   * position of `bytes` inside the tensor. `bytes` is a view; do not mutate it.
   */
  onTensorChunk?: (name: string, byteOffset: number, bytes: Uint8Array) => void | Promise<void>;
  /** Each tensor's raw little-endian bytes, once complete (e.g. for upload as float16). */
  onTensorBytes?: (entry: SafetensorsEntry, bytes: Uint8Array) => void | Promise<void>;
  /** Each tensor, decoded, once complete. Only one tensor at a time is held in memory. */
  onTensor?: (tensor: SafetensorsTensor) => void | Promise<void>;
  /** `loaded` counts bytes of the file consumed; `total` is the bytes the header says the file needs. */
  onProgress?: ProgressCallback;
}

/**
 * Reads a safetensors file as a stream, handing out tensors in offset order as their bytes
 * arrive: a multi-GB file never sits whole in memory. Stops reading once the last tensor is
 * complete. Fails with `SafetensorsError` on a malformed header or a stream that ends early,
 * and with `AbortError` when `signal` fires.
 */
export async function streamSafetensors(source: ByteSource, options: StreamSafetensorsOptions = {}): Promise<SafetensorsHeader> {
  const file = options.file ?? 'model.safetensors';
  const { stream, size } = await openByteSource(source);
  const fileSize = options.fileSize ?? size;
  const reader = stream.getReader();
  const parser = new StreamParser(file, { ...options, fileSize });
  let readPastLastTensor = false;
  try {
    for (;;) {
      throwIfAborted(options.signal);
      // Once the last tensor is in, a file of known size needs no more reads. Of a stream of
      // unknown size, one more read lets it reach its end, so that a cache writing it
      // through sees a complete file; a well-formed file has no bytes left there.
      if (parser.complete && (fileSize != null || readPastLastTensor)) break;
      const { done, value } = await reader.read();
      if (done) break;
      if (parser.complete) readPastLastTensor = true;
      else await parser.push(value);
    }
    const header = await parser.end();
    // Not awaited: cancelling one branch of a tee()d stream (a cloned Response, say) settles
    // only once the other branch is cancelled too, and we must not wait on that.
    reader.cancel().catch(() => undefined);
    return header;
  } catch (err) {
    reader.cancel(err).catch(() => undefined);
    throw err;
  } finally {
    reader.releaseLock();
  }
}

/** Reads a whole safetensors file into memory, decoded. For small files and tests. */
export async function readSafetensors(
  source: ByteSource,
  options: Pick<StreamSafetensorsOptions, 'file' | 'signal' | 'onProgress' | 'maxHeaderBytes' | 'maxTensorBytes' | 'maxDataBytes'> = {},
): Promise<Map<string, SafetensorsTensor>> {
  const tensors = new Map<string, SafetensorsTensor>();
  await streamSafetensors(source, { ...options, onTensor: (t) => void tensors.set(t.name, t) });
  return tensors;
}

/** The push-driven state machine behind `streamSafetensors`: header bytes, then tensor data. */
class StreamParser {
  private prefix: Uint8Array[] = [];
  private prefixLength = 0;
  private header: SafetensorsHeader | null = null;
  private consumed = 0;
  /** Index of the entry being filled, and the current data-relative position. */
  private index = 0;
  private position = 0;
  private assembly: Uint8Array | null = null;

  constructor(
    private readonly file: string,
    private readonly options: StreamSafetensorsOptions,
  ) {}

  get complete(): boolean {
    return this.header !== null && this.index >= this.header.entries.length;
  }

  async push(chunk: Uint8Array): Promise<void> {
    this.consumed += chunk.byteLength;
    if (!this.header) {
      const rest = await this.pushHeader(chunk);
      if (!rest) return;
      chunk = rest;
    }
    await this.pushData(chunk);
    this.reportProgress();
  }

  async end(): Promise<SafetensorsHeader> {
    if (!this.header) {
      const have = this.prefixLength;
      if (have < 8) throw new SafetensorsError(this.file, null, `file is ${have} bytes, too short for the 8-byte header length`);
      const length = readHeaderLength(concat(this.prefix, 8), this.file, this.options);
      throw new SafetensorsError(this.file, null, `header of ${length} bytes is cut short at ${have - 8} bytes (truncated file)`);
    }
    await this.pushData(new Uint8Array(0));
    const entry = this.header.entries[this.index];
    if (entry) {
      throw new SafetensorsError(
        this.file,
        entry.name,
        `file ends at data byte ${this.position}, inside this tensor's data_offsets [${entry.begin}, ${entry.end}] (truncated file)`,
      );
    }
    return this.header;
  }

  /** Buffers header bytes; once the header is complete, parses it and returns the data bytes left in `chunk`. */
  private async pushHeader(chunk: Uint8Array): Promise<Uint8Array | null> {
    this.prefix.push(chunk);
    this.prefixLength += chunk.byteLength;
    if (this.prefixLength < 8) return null;
    const headerLength = readHeaderLength(concat(this.prefix, 8), this.file, this.options);
    const dataStart = 8 + headerLength;
    if (this.prefixLength < dataStart) return null;
    const all = concat(this.prefix, this.prefixLength);
    this.prefix = [];
    this.header = parseSafetensorsHeader(all, this.file, this.options);
    await this.options.onHeader?.(this.header);
    return all.subarray(dataStart);
  }

  private async pushData(chunk: Uint8Array): Promise<void> {
    const { entries } = this.header!;
    let offset = 0;
    while (this.index < entries.length) {
      const entry = entries[this.index]!;
      if (this.position === entry.end && this.position >= entry.begin) {
        await this.finishEntry(entry, chunk, offset);
        continue;
      }
      if (offset >= chunk.byteLength) return;
      if (this.position < entry.begin) {
        const skip = Math.min(entry.begin - this.position, chunk.byteLength - offset);
        this.position += skip;
        offset += skip;
        continue;
      }
      const take = Math.min(entry.end - this.position, chunk.byteLength - offset);
      const piece = chunk.subarray(offset, offset + take);
      const within = this.position - entry.begin;
      await this.options.onTensorChunk?.(entry.name, within, piece);
      if (this.wantsWholeTensors() && !(within === 0 && take === entry.end - entry.begin)) {
        this.assembly ??= new Uint8Array(entry.end - entry.begin);
        this.assembly.set(piece, within);
      }
      this.position += take;
      offset += take;
    }
  }

  private async finishEntry(entry: SafetensorsEntry, chunk: Uint8Array, offset: number): Promise<void> {
    const byteLength = entry.end - entry.begin;
    // A tensor that arrived inside one chunk is used in place rather than copied.
    const bytes = this.assembly ?? chunk.subarray(offset - byteLength, offset);
    this.assembly = null;
    this.index++;
    if (this.options.onTensorBytes) await this.options.onTensorBytes(entry, bytes);
    if (this.options.onTensor) {
      await this.options.onTensor({ name: entry.name, dtype: entry.dtype, shape: entry.shape, data: decodeTensorBytes(entry.dtype, bytes) });
    }
  }

  private wantsWholeTensors(): boolean {
    return this.options.onTensor !== undefined || this.options.onTensorBytes !== undefined;
  }

  private reportProgress(): void {
    const { onProgress } = this.options;
    if (!onProgress || !this.header) return;
    const total = this.header.dataStart + this.header.dataLength;
    onProgress({ file: this.file, loaded: Math.min(this.consumed, total), total });
  }
}

/** The first `length` bytes of a list of chunks, as one buffer. */
function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.byteLength >= length) return chunks[0]!.subarray(0, length);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    if (offset >= length) break;
    const n = Math.min(chunk.byteLength, length - offset);
    out.set(chunk.subarray(0, n), offset);
    offset += n;
  }
  return out;
}
