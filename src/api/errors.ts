import { ERROR_BRAND, registerErrorClass, registeredName } from './error-registry.js';
import { describeValue } from './describe-value.js';

/**
 * Typed errors. Every class has a stable `code` (one per class, named in its documentation)
 * and a `name`, both on its prototype, and is an `OmniDiffusionError` for `instanceof` (also
 * the few that extend `TypeError`). An error that crosses a worker boundary is sent as a
 * `SerializedError` and rebuilt into its class on the caller's side, fields included, so
 * `instanceof` and `err.field` work there too (see `serializeError`, `deserializeError`).
 *
 * Standard errors the library throws for programming mistakes, never for bad input or a
 * failing environment: `TypeError` for an argument of the wrong kind (`step` given a
 * non-array, `registerExecutor` given a non-class, a `collectiveRpc` method that does not
 * exist) and `RangeError` for an internal size or index contract broken by the caller of a
 * low-level API (a tensor count, a seed outside [0, 2^53), a pool index).
 */

/**
 * Base class of every error this library throws on purpose. Code `ERROR` (a failure no
 * subclass describes, such as an executor used before `initExecutor`).
 *
 * `ConfigValidationError`, `RequestValidationError`, `TensorShapeError`,
 * `SchedulerConfigError`, `TokenizerInputError` and `ElementAttributeError` extend `TypeError`
 * (kept so that `instanceof TypeError` still holds for them) and are instances of this class
 * all the same: `instanceof OmniDiffusionError` checks the brand their registration puts on
 * their prototype, which `isOmniDiffusionError` checks too.
 */
export class OmniDiffusionError extends Error {
  /** What kind of failure this is, stable across versions and messages: branch on it, not on the message. */
  declare readonly code: string;

  static {
    registerErrorClass(this, 'OmniDiffusionError', 'ERROR');
  }

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = registeredName(new.target);
  }

  /** `instanceof OmniDiffusionError` holds for every registered class, also those that extend `TypeError`; subclasses check their prototype chain as usual. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return this === OmniDiffusionError ? isOmniDiffusionError(value) : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** Whether `value` is one of this library's errors (of any class, from any copy of the library): then it has a `code`. */
export function isOmniDiffusionError(value: unknown): value is OmniDiffusionError {
  return value instanceof Error && (value as unknown as Record<symbol, unknown>)[ERROR_BRAND] === true;
}

/**
 * The executor cannot run in this environment (no `navigator.gpu`, no adapter, a missing
 * feature or limit, or a backend that is not built). The engine reacts to this error by
 * trying the configured `fallback` executors; any other init error is thrown as is.
 * Code `EXECUTOR_UNAVAILABLE`.
 */
export class ExecutorUnavailableError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'ExecutorUnavailableError', 'EXECUTOR_UNAVAILABLE');
  }
}

/** An `executorClass` string could not be turned into an executor class. Code `EXECUTOR_RESOLUTION`. */
export class ExecutorResolutionError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'ExecutorResolutionError', 'EXECUTOR_RESOLUTION');
  }

  readonly specifier: string;
  constructor(specifier: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.specifier = specifier;
  }
}

/** A `DiffusionConfig` field is invalid. Extends TypeError so that type checks read naturally. Code `CONFIG_INVALID`. */
export class ConfigValidationError extends TypeError {
  declare readonly code: string;
  static {
    registerErrorClass(this, 'ConfigValidationError', 'CONFIG_INVALID');
  }

  readonly field: string;
  readonly value: unknown;
  constructor(field: string, value: unknown, expected: string) {
    super(`Invalid DiffusionConfig.${field} = ${describeValue(value)}: expected ${expected}.`);
    this.name = 'ConfigValidationError';
    this.field = field;
    this.value = value;
  }
}

/** A `DiffusionRequest` field is invalid. Thrown before any work starts. Code `REQUEST_INVALID`. */
export class RequestValidationError extends TypeError {
  declare readonly code: string;
  static {
    registerErrorClass(this, 'RequestValidationError', 'REQUEST_INVALID');
  }

  readonly field: string;
  readonly value: unknown;
  constructor(field: string, value: unknown, expected: string) {
    super(`Invalid DiffusionRequest.${field} = ${describeValue(value)}: expected ${expected}.`);
    this.name = 'RequestValidationError';
    this.field = field;
    this.value = value;
  }
}

/** The engine was closed; create a new one. Code `ENGINE_CLOSED`. */
export class EngineClosedError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'EngineClosedError', 'ENGINE_CLOSED');
  }
}

/** The executor can no longer serve requests (its workers or device are gone for good). Code `EXECUTOR_DEAD`. */
export class ExecutorDeadError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'ExecutorDeadError', 'EXECUTOR_DEAD');
  }
}

/** A request was cancelled through its `AbortSignal`. Code `ABORTED`. */
export class AbortError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'AbortError', 'ABORTED');
  }
}

/** An operation ran past its time limit. Code `TIMEOUT`. */
export class TimeoutError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'TimeoutError', 'TIMEOUT');
  }
}

/** A remote server answered with an error, an unreadable body or an unexpected image. Code `HTTP_EXECUTOR`. */
export class HTTPExecutorError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'HTTPExecutorError', 'HTTP_EXECUTOR');
  }

  /** HTTP status, or null when no response arrived (network error, timeout). */
  readonly status: number | null;
  /** The server's `detail` field, when it sent one. */
  readonly detail: string | null;
  constructor(message: string, status: number | null, detail: string | null, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.detail = detail;
  }
}

export { describeValue } from './describe-value.js';
export { deserializeError, isSerializedError, serializeError } from './error-transfer.js';
export type { SerializedError } from './error-transfer.js';

/** Message of any thrown value, prefixed by its kind when that adds information. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    return err.name && err.name !== 'Error' && !err.message.startsWith(err.name) ? `${err.name}: ${err.message}` : err.message;
  }
  return String(err);
}
