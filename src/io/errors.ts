import { OmniDiffusionError } from '../errors.js';

/**
 * A safetensors file is malformed: bad header, bad offsets, unknown dtype, or truncated data.
 * `file` names the file; `tensor` names the entry at fault, when one is.
 */
export class SafetensorsError extends OmniDiffusionError {
  readonly file: string;
  readonly tensor: string | null;
  constructor(file: string, tensor: string | null, message: string, options?: { cause?: unknown }) {
    super(`${file}${tensor === null ? '' : `: tensor "${tensor}"`}: ${message}`, options);
    this.file = file;
    this.tensor = tensor;
  }
}

/** A JSON file (config, model index, fixture) could not be parsed. */
export class JsonParseError extends OmniDiffusionError {
  readonly file: string;
  /** 1-based line and column of the fault. */
  readonly line: number;
  readonly column: number;
  constructor(file: string, line: number, column: number, message: string) {
    super(`${file}:${line}:${column}: invalid JSON: ${message}`);
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

/** A model source could not deliver a file (network error, HTTP error status, unreadable file). */
export class ModelSourceError extends OmniDiffusionError {
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

/** The model has no such file (HTTP 404, no such file in the folder or the file map). */
export class ModelFileNotFoundError extends ModelSourceError {}

/** The download cache failed; `QuotaExceededError` and full disks are reported as `CacheQuotaError`. */
export class CacheError extends OmniDiffusionError {
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.key = key;
  }
}

/** The cache has no room left for a file (browser storage quota, full disk). */
export class CacheQuotaError extends CacheError {}

/** Base of the errors raised while building a model from its weights. */
export class StateDictError extends OmniDiffusionError {
  /** The weights file (or files) the state dict came from. */
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
  }
}

/** A weight the model needs is not in the checkpoint. */
export class MissingWeightError extends StateDictError {
  readonly key: string;
  constructor(file: string, key: string, message: string) {
    super(file, message);
    this.key = key;
  }
}

/** A weight has another shape (or dtype) than the model's config implies. */
export class WeightShapeError extends StateDictError {
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

/** The checkpoint and the model disagree on their key sets (reported once, by `StateDict.finish`). */
export class StateDictMismatchError extends StateDictError {
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

/** A fixture file is malformed: `file` and `field` say where. */
export class FixtureError extends OmniDiffusionError {
  readonly file: string;
  readonly field: string | null;
  constructor(file: string, field: string | null, message: string, options?: { cause?: unknown }) {
    super(`${file}${field === null ? '' : ` (field "${field}")`}: ${message}`, options);
    this.file = file;
    this.field = field;
  }
}

/** A diffusers model repository lacks a file or component, or its `model_index.json` is malformed. */
export class DiffusersRepoError extends OmniDiffusionError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}
