import { DTYPE_BYTES, isSupportedDType, type SafetensorsDType } from './dtypes.js';
import { JsonParseError, SafetensorsError } from './errors.js';
import { parseLenientJson } from './json.js';
import { safeSnippet } from './snippet.js';

/**
 * Largest JSON header accepted, in bytes: the format's own limit (the reference reader refuses
 * headers over 100 MB). Real headers are a few hundred KiB; the cap stops a corrupt or hostile
 * length field from making us buffer gigabytes before failing.
 */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * Largest tensor accepted, in bytes. The largest tensors of the models we target are the token
 * embeddings: 253 MB (SDXL's OpenCLIP-bigG in float32), 526 MB for T5-XXL; 2 GiB is four times
 * that, and more than a WebGPU buffer can usually hold. Checked on the header, so that a stream
 * of unknown length declaring a huge tensor fails before anything is allocated for it.
 */
export const MAX_TENSOR_BYTES = 2 ** 31;

/**
 * Largest data section accepted (the largest `end` of the data_offsets), in bytes: 1 TiB, some
 * fifty times the largest single-file checkpoints published (Flux at 24 GB).
 */
export const MAX_DATA_BYTES = 2 ** 40;

/** One tensor entry of a safetensors header. Offsets are relative to the first data byte. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated safetensors header. */
export interface SafetensorsHeader {
  file: string;
  /** The header's JSON length N; tensor data starts at byte 8 + N. */
  headerLength: number;
  dataStart: number;
  /** Bytes of tensor data the entries cover: the largest `end`. */
  dataLength: number;
  /** Entries sorted by offset (the file's order, which the header's key order need not be). */
  entries: SafetensorsEntry[];
  /** The `__metadata__` map (`{"format": "pt"}` in weights files), empty when absent. */
  metadata: Record<string, string>;
}

/** What the header checks know beyond the bytes: the file size, and the caps to apply. */
export interface HeaderOptions {
  /** Size of the whole file, when known: offsets past it are reported at once. */
  fileSize?: number | null;
  /** Default `MAX_HEADER_BYTES`. */
  maxHeaderBytes?: number;
  /** Default `MAX_TENSOR_BYTES`. */
  maxTensorBytes?: number;
  /** Default `MAX_DATA_BYTES`. */
  maxDataBytes?: number;
}

/**
 * Reads the 8-byte little-endian header length from the start of a file, checking it against
 * the cap and the file size. `prefix` must hold at least 8 bytes.
 */
export function readHeaderLength(prefix: Uint8Array, file: string, options: HeaderOptions = {}): number {
  if (prefix.byteLength < 8) throw new SafetensorsError(file, null, `file is ${prefix.byteLength} bytes, too short for the 8-byte header length`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  const cap = options.maxHeaderBytes ?? MAX_HEADER_BYTES;
  if (length > cap) throw new SafetensorsError(file, null, `header length ${length} exceeds the cap of ${cap} bytes; the file is corrupt or not safetensors`);
  const size = options.fileSize;
  if (size != null && 8 + length > size) {
    throw new SafetensorsError(file, null, `header length ${length} runs past the end of the ${size}-byte file (truncated?)`);
  }
  return length;
}

/**
 * Parses and validates a safetensors header. `bytes` holds the start of the file, at least the
 * 8-byte length and the JSON header; more is ignored. Checks: JSON object, known dtypes,
 * dtype × shape = byte length, tensors and data section under their caps, offsets within the
 * file (when `fileSize` is given) and not overlapping.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, fileName: string, options: HeaderOptions = {}): SafetensorsHeader {
  const headerLength = readHeaderLength(bytes, fileName, options);
  const dataStart = 8 + headerLength;
  if (bytes.byteLength < dataStart) {
    throw new SafetensorsError(fileName, null, `header of ${headerLength} bytes is cut short at ${bytes.byteLength - 8} bytes (truncated file)`);
  }
  const json = parseHeaderJson(bytes.subarray(8, dataStart), fileName);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsError(fileName, null, 'header is not a JSON object');
  }
  const maxTensorBytes = options.maxTensorBytes ?? MAX_TENSOR_BYTES;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') Object.assign(metadata, checkMetadata(value, fileName));
    else entries.push(checkEntry(name, value, fileName, maxTensorBytes));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let dataLength = 0;
  let previous: SafetensorsEntry | null = null;
  for (const entry of entries) {
    if (previous && entry.begin < dataLength) {
      throw new SafetensorsError(
        fileName,
        entry.name,
        `data_offsets [${entry.begin}, ${entry.end}] overlap tensor "${previous.name}" [${previous.begin}, ${previous.end}]`,
      );
    }
    dataLength = entry.end;
    previous = entry;
  }
  const maxDataBytes = options.maxDataBytes ?? MAX_DATA_BYTES;
  if (previous && previous.end > maxDataBytes) {
    throw new SafetensorsError(
      fileName,
      previous.name,
      `data_offsets [${previous.begin}, ${previous.end}] put the data section past the cap of ${maxDataBytes} bytes; the header is corrupt (raise maxDataBytes only for a file known to be this large)`,
    );
  }
  const size = options.fileSize;
  if (size != null && previous && dataStart + previous.end > size) {
    throw new SafetensorsError(
      fileName,
      previous.name,
      `data_offsets [${previous.begin}, ${previous.end}] run past the end of the file (data section has ${size - dataStart} bytes; truncated?)`,
    );
  }
  return { file: fileName, headerLength, dataStart, dataLength, entries, metadata };
}

/** The header's JSON, strictly UTF-8; a fault is a `SafetensorsError` quoting at most a short snippet. */
function parseHeaderJson(bytes: Uint8Array, file: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new SafetensorsError(file, null, 'header is not valid UTF-8 (the file is corrupt or not safetensors)', { cause });
  }
  try {
    // The lenient parser also caps the nesting depth and quotes faults safely; the NaN and
    // Infinity it accepts fail the checks of every field below.
    return parseLenientJson(text, `${file} header`);
  } catch (cause) {
    if (!(cause instanceof JsonParseError)) throw cause;
    throw new SafetensorsError(file, null, `header is not valid JSON at line ${cause.line}, column ${cause.column}: ${cause.reason}`, { cause });
  }
}

function checkMetadata(value: unknown, file: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SafetensorsError(file, null, '"__metadata__" is not an object');
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new SafetensorsError(file, null, `"__metadata__.${safeSnippet(key)}" is not a string`);
  }
  return value as Record<string, string>;
}

/** A JSON value for an error message: short, escaped. */
function describeJson(value: unknown): string {
  return safeSnippet(JSON.stringify(value) ?? String(value));
}

function checkEntry(name: string, value: unknown, file: string, maxTensorBytes: number): SafetensorsEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SafetensorsError(file, name, 'entry is not an object with dtype, shape and data_offsets');
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new SafetensorsError(file, name, 'dtype is missing or not a string');
  if (!isSupportedDType(dtype)) {
    throw new SafetensorsError(file, name, `unknown or unsupported dtype "${safeSnippet(dtype)}" (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new SafetensorsError(file, name, `shape ${describeJson(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new SafetensorsError(file, name, `data_offsets ${describeJson(offsets)} is not [begin, end] with 0 <= begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = shape.reduce((n: number, d: number) => n * d, DTYPE_BYTES[dtype]);
  if (expected !== end - begin) {
    throw new SafetensorsError(
      file,
      name,
      `dtype ${dtype} × shape ${describeJson(shape)} is ${expected} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  if (expected > maxTensorBytes) {
    throw new SafetensorsError(
      file,
      name,
      `is ${expected} bytes, over the cap of ${maxTensorBytes} bytes per tensor; the header is corrupt (raise maxTensorBytes only for a file known to hold such a tensor)`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
