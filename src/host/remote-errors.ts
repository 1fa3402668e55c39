import { deserializeError, isSerializedError, serializeError } from '../api/error-transfer.js';
// Every error class an engine host can throw registers itself on load; imported here so that
// the caller's side of a worker knows them all when it rebuilds one (see `rebuildRemoteError`).
import '../api/errors.js';
import '../webgpu/errors.js';
import '../io/errors.js';
import '../models/errors.js';
import '../models/tokenizer/errors.js';
import '../plan/errors.js';
import '../schedulers/errors.js';
import './errors.js';

/**
 * `api` with each method throwing (or rejecting with) a `SerializedError` record instead of the
 * error itself, for `Comlink.expose`: comlink sends only an error's `name`, `message` and
 * `stack`, while a plain record crosses whole, fields and `cause` included.
 */
export function withSerializedErrors<T extends object>(api: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(api)) {
    if (typeof value !== 'function') {
      wrapped[key] = value;
      continue;
    }
    wrapped[key] = (...args: unknown[]): unknown => {
      let result: unknown;
      try {
        result = Reflect.apply(value as (...a: unknown[]) => unknown, api, args);
      } catch (err) {
        throw serializeError(err);
      }
      return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(serializeError(err))) : result;
    };
  }
  return wrapped as T;
}

/**
 * What a call to a host threw, as an error of its own class again: a `SerializedError` record
 * (from `withSerializedErrors`) is rebuilt with its fields; an `Error` that comlink rebuilt
 * from a host that does not serialise (a caller's own `Comlink.expose`) gets its class back by
 * name, without its fields. Errors of an in-process host pass through as they are.
 */
export function rebuildRemoteError(thrown: unknown): unknown {
  if (isSerializedError(thrown)) return deserializeError(thrown);
  if (thrown instanceof Error && Object.getPrototypeOf(thrown) === Error.prototype && thrown.name !== 'Error') {
    return deserializeError({ name: thrown.name, message: thrown.message, ...(thrown.stack ? { stack: thrown.stack } : {}) });
  }
  return thrown;
}
