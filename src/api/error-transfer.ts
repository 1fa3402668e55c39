import { describeValue } from './describe-value.js';
import { errorClassFor } from './error-registry.js';

/**
 * Serialisable form of an error: what `DiffusionOutput.errorInfo` holds and what crosses a worker
 * boundary. It survives `structuredClone` and `JSON.stringify` (the stack and field values are
 * strings, numbers, booleans, null, arrays and plain objects).
 */
export interface SerializedError {
  /** The class name, e.g. `DeviceLimitError`. */
  name: string;
  /** The class's stable code, e.g. `DEVICE_LIMIT`; for an error that is not the library's, its own string `code` (Node's `ENOENT`), else absent. */
  code?: string;
  message: string;
  stack?: string;
  /** The error's `cause`, serialised the same way. */
  cause?: unknown;
  /**
   * The class's own fields (`field`, `value`, `status`, `tensor`, `limit`, ...). A value that is
   * not plain data (a function, a class instance, a typed array) is kept as its
   * `describeValue` text, as is anything nested deeper than a few levels or an array longer
   * than 4096; a non-finite number becomes its text (`NaN`).
   */
  [field: string]: unknown;
}

/** Keys of a record that are not the class's own fields. */
const RESERVED = new Set(['name', 'code', 'message', 'stack', 'cause']);
/** How deep fields and causes are followed; deeper values are described, not copied (cyclic values end here). */
const MAX_DEPTH = 4;
const MAX_ARRAY = 4096;

/** Standard errors, rebuilt by name: programming mistakes and runtime faults from the other side. */
const STANDARD_ERRORS: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * Converts any thrown value into a serialisable record that keeps its class (`name`, `code`)
 * and fields, so that `deserializeError` can rebuild it. Never throws: a field that cannot be
 * read is described as `[unreadable]`.
 */
export function serializeError(err: unknown): SerializedError {
  return serialize(err, 0);
}

function serialize(err: unknown, depth: number): SerializedError {
  if (isSerializedError(err)) return err;
  if (!(err instanceof Error)) return { name: 'Error', message: typeof err === 'object' && err !== null ? describeValue(err) : String(err) };
  const record: SerializedError = { name: String(err.name), message: String(err.message) };
  const code = read(err, 'code');
  if (typeof code === 'string') record.code = code;
  if (typeof err.stack === 'string') record.stack = err.stack;
  for (const key of Object.keys(err)) {
    if (!RESERVED.has(key)) record[key] = plain(read(err, key), depth);
  }
  const cause = read(err, 'cause');
  if (cause !== undefined) record.cause = plain(cause, depth);
  return record;
}

function read(err: Error, key: string): unknown {
  try {
    return (err as unknown as Record<string, unknown>)[key];
  } catch {
    return '[unreadable]';
  }
}

/** `value` as plain data (see `SerializedError`). */
function plain(value: unknown, depth: number): unknown {
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (depth >= MAX_DEPTH) return describeValue(value);
  if (value instanceof Error) return serialize(value, depth + 1);
  if (Array.isArray(value)) return value.length > MAX_ARRAY ? describeValue(value) : value.map((v) => plain(v, depth + 1));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, depth + 1)]));
  }
  return describeValue(value);
}

/** Whether `value` is a `SerializedError` record (a plain object with a string `name` and `message`), not an error itself. */
export function isSerializedError(value: unknown): value is SerializedError {
  if (typeof value !== 'object' || value === null || value instanceof Error) return false;
  const r = value as Record<string, unknown>;
  return typeof r.name === 'string' && typeof r.message === 'string';
}

/**
 * Rebuilds an error from `serializeError` output as an instance of its class (found by `code`,
 * then by `name`), with its fields and `cause`, so `instanceof` and `err.field` work again on
 * this side. The class's constructor is not called (its arguments are not in the record). An
 * unknown class comes back as an `Error` carrying the record's `name`, `code` and fields.
 */
export function deserializeError(record: SerializedError): Error {
  const cls = (errorClassFor(record.code, record.name) ?? STANDARD_ERRORS[record.name] ?? Error) as unknown as new (...args: unknown[]) => Error;
  const cause = record.cause === undefined ? undefined : isSerializedError(record.cause) ? deserializeError(record.cause) : record.cause;
  const message = String(record.message);
  const err = Reflect.construct(Error, cause === undefined ? [message] : [message, { cause }], cls) as Error;
  err.name = record.name;
  // A registered class has its code on the prototype (read-only); another's is set as its own.
  if (record.code !== undefined && (err as { code?: unknown }).code !== record.code) {
    Object.defineProperty(err, 'code', { value: record.code, writable: true, configurable: true, enumerable: true });
  }
  for (const [key, value] of Object.entries(record)) {
    if (!RESERVED.has(key)) (err as unknown as Record<string, unknown>)[key] = value;
  }
  if (record.stack !== undefined) err.stack = record.stack;
  return err;
}
