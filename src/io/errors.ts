import { registerErrorClass } from '../api/error-registry.js';
import { OmniDiffusionError } from '../api/errors.js';
import { safeSnippet } from './snippet.js';

/**
 * A safetensors file is malformed: bad header, bad offsets, unknown dtype, or truncated data.
 * `file` names the file; `tensor` names the entry at fault, when one is.
 * Code `SAFETENSORS_INVALID`.
 */
export class SafetensorsError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'SafetensorsError', 'SAFETENSORS_INVALID');
  }

  readonly file: string;
  readonly tensor: string | null;
  constructor(file: string, tensor: string | null, message: string, options?: { cause?: unknown }) {
    // Tensor names come from the file: quote a short, escaped piece of a hostile one.
    super(`${file}${tensor === null ? '' : `: tensor "${safeSnippet(tensor)}"`}: ${message}`, options);
    this.file = file;
    this.tensor = tensor;
  }
}

/**
 * A JSON file (config, model index, fixture) could not be parsed, or nests deeper than the
 * parser allows. The message quotes at most a short, escaped snippet of the file.
 * Code `JSON_PARSE`.
 */
export class JsonParseError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'JsonParseError', 'JSON_PARSE');
  }

  readonly file: string;
  /** 1-based line and column of the fault. */
  readonly line: number;
  readonly column: number;
  /** What is wrong there, without the file and position. */
  readonly reason: string;
  constructor(file: string, line: number, column: number, reason: string) {
    super(`${file}:${line}:${column}: invalid JSON: ${reason}`);
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

/**
 * A file's bytes could not be read safely: the file is shorter than its size said when it was
 * opened, or (subclasses) it is not a regular file or is over a size cap. `file` names it.
 * Code `FILE_READ`.
 */
export class FileReadError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'FileReadError', 'FILE_READ');
  }

  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
  }
}

/**
 * A local path is a FIFO, a device, a socket or a directory rather than a regular file. It is
 * refused before it is read: a FIFO would block the open, `/dev/zero` would never end.
 * Code `FILE_NOT_REGULAR`.
 */
export class NotRegularFileError extends FileReadError {
  static {
    registerErrorClass(this, 'NotRegularFileError', 'FILE_NOT_REGULAR');
  }

  /** What the path is: `FIFO`, `character device`, `block device`, `socket` or `directory`. */
  readonly kind: string;
  constructor(file: string, kind: string) {
    super(file, `${file} is a ${kind}, not a regular file; model files must be regular files (replace it with the file itself).`);
    this.kind = kind;
  }
}

/** A file is larger than the cap for its kind (a config, a vocabulary); it is refused rather than buffered. Code `FILE_TOO_LARGE`. */
export class FileTooLargeError extends FileReadError {
  static {
    registerErrorClass(this, 'FileTooLargeError', 'FILE_TOO_LARGE');
  }

  /** The size the source stated, or null when the stream had no stated size and ran past the cap. */
  readonly size: number | null;
  readonly limit: number;
  constructor(file: string, size: number | null, limit: number) {
    const what = size === null ? 'runs past' : `is ${size} bytes, over`;
    super(file, `${file} ${what} the cap of ${limit} bytes for this kind of file; it is corrupt or not the file expected here.`);
    this.size = size;
    this.limit = limit;
  }
}

/** A model source could not deliver a file (network error, HTTP error status, unreadable file). Code `MODEL_SOURCE`. */
export class ModelSourceError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'ModelSourceError', 'MODEL_SOURCE');
  }

  /** Path of the file inside the model, e.g. `unet/config.json`. */
  readonly path: string;
  /** Where it was looked up: a URL, a folder, or a description of the source. */
  readonly location: string;
  /** HTTP status, when the source is HTTP and a response arrived. */
  readonly status: number | null;
  constructor(path: string, location: string, message: string, status: number | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
    this.location = location;
    this.status = status;
  }
}

/** The model has no such file (HTTP 404, no such file in the folder or the file map). Code `MODEL_FILE_NOT_FOUND`. */
export class ModelFileNotFoundError extends ModelSourceError {
  static {
    registerErrorClass(this, 'ModelFileNotFoundError', 'MODEL_FILE_NOT_FOUND');
  }
}

/** The download cache failed; `QuotaExceededError` and full disks are reported as `CacheQuotaError`. Code `CACHE`. */
export class CacheError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'CacheError', 'CACHE');
  }

  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.key = key;
  }
}

/** The cache has no room left for a file (browser storage quota, full disk). Code `CACHE_QUOTA`. */
export class CacheQuotaError extends CacheError {
  static {
    registerErrorClass(this, 'CacheQuotaError', 'CACHE_QUOTA');
  }
}

/**
 * The storage ran out of room while a model file was being stored (a full disk in Node, the
 * origin's quota in a browser). `needed` is what the file still needed and `available` what the
 * store had left, each null when unknown. The bytes already stored are kept, so the next load
 * resumes the download from there. Code `STORAGE_QUOTA`.
 */
export class StorageQuotaError extends CacheQuotaError {
  static {
    registerErrorClass(this, 'StorageQuotaError', 'STORAGE_QUOTA');
  }

  readonly needed: number | null;
  readonly available: number | null;
  constructor(key: string, needed: number | null, available: number | null, message: string, options?: { cause?: unknown }) {
    super(key, message, options);
    this.needed = needed;
    this.available = available;
  }
}

/**
 * A downloaded file is not the file the server stated: its size differs from `Content-Length`
 * (or the Hub's size), or its SHA-256 from the one the Hub gives for LFS files. The bytes are
 * deleted, never used as complete; loading again downloads the file afresh. Code `DOWNLOAD_CORRUPT`.
 */
export class CorruptDownloadError extends ModelSourceError {
  static {
    registerErrorClass(this, 'CorruptDownloadError', 'DOWNLOAD_CORRUPT');
  }

  readonly expectedSize: number | null;
  readonly actualSize: number;
  /** Lower-case hex SHA-256s; `actualSha256` is null when the size already differed or no hash was computed. */
  readonly expectedSha256: string | null;
  readonly actualSha256: string | null;
  constructor(
    path: string,
    location: string,
    expected: { size: number | null; sha256: string | null },
    actual: { size: number; sha256: string | null },
  ) {
    const what =
      expected.size !== null && expected.size !== actual.size
        ? `${actual.size} bytes arrived where the server stated ${expected.size}`
        : `its SHA-256 is ${actual.sha256 ?? '?'} where the server stated ${expected.sha256 ?? '?'}`;
    super(path, location, `The download of "${path}" from ${location} is corrupt: ${what}. It was deleted; loading again downloads it afresh.`);
    this.expectedSize = expected.size;
    this.actualSize = actual.size;
    this.expectedSha256 = expected.sha256;
    this.actualSha256 = actual.sha256;
  }
}

/** Base of the errors raised while building a model from its weights. Code `STATE_DICT`. */
export class StateDictError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'StateDictError', 'STATE_DICT');
  }

  /** The weights file (or files) the state dict came from. */
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
  }
}

/** A weight the model needs is not in the checkpoint. Code `WEIGHT_MISSING`. */
export class MissingWeightError extends StateDictError {
  static {
    registerErrorClass(this, 'MissingWeightError', 'WEIGHT_MISSING');
  }

  readonly key: string;
  constructor(file: string, key: string, message: string) {
    super(file, message);
    this.key = key;
  }
}

/** A weight has another shape (or dtype) than the model's config implies. Code `WEIGHT_SHAPE`. */
export class WeightShapeError extends StateDictError {
  static {
    registerErrorClass(this, 'WeightShapeError', 'WEIGHT_SHAPE');
  }

  readonly key: string;
  readonly expected: readonly number[];
  readonly actual: readonly number[];
  constructor(file: string, key: string, expected: readonly number[], actual: readonly number[], message: string) {
    super(file, message);
    this.key = key;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A tensor of a pre-quantized checkpoint does not match its component's `quantization_config`:
 * a quantized weight or its `_scale` tensor is missing (`field` `missing`), or has another
 * `dtype` or `shape` than the config's bits, group size and logical shape imply. Checked on the
 * header, before any weight is read. Code `QUANTIZED_WEIGHT_INVALID`.
 */
export class QuantizedWeightError extends StateDictError {
  static {
    registerErrorClass(this, 'QuantizedWeightError', 'QUANTIZED_WEIGHT_INVALID');
  }

  /** The checkpoint key at fault, e.g. `down_blocks.0.resnets.0.conv1.weight_scale`. */
  readonly tensor: string;
  readonly field: 'missing' | 'dtype' | 'shape';
  /** What the config implies, e.g. `I8` or `[32, 144]`. */
  readonly expected: string;
  /** What the checkpoint has; null when the tensor is missing. */
  readonly actual: string | null;
  constructor(file: string, tensor: string, field: 'missing' | 'dtype' | 'shape', expected: string, actual: string | null) {
    const quoted = `"${safeSnippet(tensor, 200)}"`;
    super(
      file,
      field === 'missing'
        ? `${file}: tensor ${quoted} is missing: its quantization_config needs it (${expected}).`
        : `${file}: tensor ${quoted} has ${field} ${actual ?? '?'}, but its quantization_config implies ${field} ${expected}.`,
    );
    this.tensor = tensor;
    this.field = field;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The checkpoint and the model disagree on their key sets (reported once, by `StateDict.finish`). Code `STATE_DICT_MISMATCH`. */
export class StateDictMismatchError extends StateDictError {
  static {
    registerErrorClass(this, 'StateDictMismatchError', 'STATE_DICT_MISMATCH');
  }

  /** Keys in the file that the model neither took nor ignored. */
  readonly unexpected: readonly string[];
  /** Keys the model asked for that the file lacks. */
  readonly missing: readonly string[];
  constructor(file: string, unexpected: readonly string[], missing: readonly string[], message: string) {
    super(file, message);
    this.unexpected = unexpected;
    this.missing = missing;
  }
}

/** A fixture file is malformed: `file` and `field` say where. Code `FIXTURE_INVALID`. */
export class FixtureError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'FixtureError', 'FIXTURE_INVALID');
  }

  readonly file: string;
  readonly field: string | null;
  constructor(file: string, field: string | null, message: string, options?: { cause?: unknown }) {
    super(`${file}${field === null ? '' : ` (field "${field}")`}: ${message}`, options);
    this.file = file;
    this.field = field;
  }
}

/** A diffusers model repository lacks a file or component, or its `model_index.json` is malformed. Code `DIFFUSERS_REPO_INVALID`. */
export class DiffusersRepoError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'DiffusersRepoError', 'DIFFUSERS_REPO_INVALID');
  }

  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}
