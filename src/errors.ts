import { safeSnippet } from './io/snippet.js';

/**
 * Typed errors. Every class sets `name`, because errors that cross a worker boundary
 * (comlink, structured clone) keep only `name`, `message` and `stack`: callers should
 * branch on `err.name`, not on `instanceof`, when the error may have come from a worker.
 */

/** Base class of every error this library throws on purpose. */
export class OmniDiffusionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The executor cannot run in this environment (no `navigator.gpu`, no adapter, a missing
 * feature or limit, or a backend that is not built). The engine reacts to this error by
 * trying the configured `fallback` executors; any other init error is thrown as is.
 */
export class ExecutorUnavailableError extends OmniDiffusionError {}

/** An `executorClass` string could not be turned into an executor class. */
export class ExecutorResolutionError extends OmniDiffusionError {
  readonly specifier: string;
  constructor(specifier: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.specifier = specifier;
  }
}

/** A `DiffusionConfig` field is invalid. Extends TypeError so that type checks read naturally. */
export class ConfigValidationError extends TypeError {
  readonly field: string;
  readonly value: unknown;
  constructor(field: string, value: unknown, expected: string) {
    super(`Invalid DiffusionConfig.${field} = ${describeValue(value)}: expected ${expected}.`);
    this.name = 'ConfigValidationError';
    this.field = field;
    this.value = value;
  }
}

/** A `DiffusionRequest` field is invalid. Thrown before any work starts. */
export class RequestValidationError extends TypeError {
  readonly field: string;
  readonly value: unknown;
  constructor(field: string, value: unknown, expected: string) {
    super(`Invalid DiffusionRequest.${field} = ${describeValue(value)}: expected ${expected}.`);
    this.name = 'RequestValidationError';
    this.field = field;
    this.value = value;
  }
}

/** The engine was closed; create a new one. */
export class EngineClosedError extends OmniDiffusionError {}

/** The executor can no longer serve requests (its workers or device are gone for good). */
export class ExecutorDeadError extends OmniDiffusionError {}

/** A request was cancelled through its `AbortSignal`. */
export class AbortError extends OmniDiffusionError {}

/** An operation ran past its time limit. */
export class TimeoutError extends OmniDiffusionError {}

/** A remote server answered with an error, an unreadable body or an unexpected image. */
export class HTTPExecutorError extends OmniDiffusionError {
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

/** Short, safe rendering of a value for error messages. */
export function describeValue(value: unknown): string {
  // Config and request values may come from strangers: cut short, controls and bidi overrides escaped.
  if (typeof value === 'string') return `"${safeSnippet(value, 80)}"`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `array(${value.length})`;
  const ctor = (value as object).constructor?.name;
  return ctor && ctor !== 'Object' ? `[${ctor}]` : '[object]';
}

/** Serialisable form of an error, for messages that cross a worker boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

const errorClasses: Record<string, new (message: string) => Error> = {
  OmniDiffusionError,
  ExecutorUnavailableError,
  EngineClosedError,
  ExecutorDeadError,
  AbortError,
  TimeoutError,
};

/** Converts any thrown value into a serialisable record that keeps the error kind. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

/** Rebuilds a typed error from `serializeError` output, so `instanceof` works again on this side. */
export function deserializeError(record: SerializedError): Error {
  const Ctor = errorClasses[record.name];
  const err = Ctor ? new Ctor(record.message) : new Error(record.message);
  err.name = record.name;
  if (record.stack) err.stack = record.stack;
  return err;
}

/** Message of any thrown value, prefixed by its kind when that adds information. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    return err.name && err.name !== 'Error' && !err.message.startsWith(err.name) ? `${err.name}: ${err.message}` : err.message;
  }
  return String(err);
}
