import { deserializeError, isSerializedError, serializeError } from '../api/error-transfer.js';
import * as apiErrors from '../api/errors.js';
import * as ioErrors from '../io/errors.js';
import * as modelErrors from '../models/errors.js';
import * as tokenizerErrors from '../models/tokenizer/errors.js';
import * as planErrors from '../plan/errors.js';
import * as schedulerErrors from '../schedulers/errors.js';
import * as gpuErrors from '../webgpu/errors.js';
import * as hostErrors from './errors.js';

/**
 * Every module whose error classes an engine host can throw. Each class registers itself when its
 * module loads; the caller's side of a worker needs them all registered to rebuild one (see
 * `rebuildRemoteError`). Held as values, not imported for effect: a bundler that trusts the
 * package's `sideEffects` drops an import nothing reads, and with it the classes.
 */
export const HOST_ERROR_MODULES: readonly object[] = [apiErrors, gpuErrors, ioErrors, modelErrors, tokenizerErrors, planErrors, schedulerErrors, hostErrors];

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
  // Reading the list here is what keeps its modules, and so their classes, in a bundle.
  if (HOST_ERROR_MODULES.length === 0) return thrown;
  if (isSerializedError(thrown)) return deserializeError(thrown);
  if (thrown instanceof Error && Object.getPrototypeOf(thrown) === Error.prototype && thrown.name !== 'Error') {
    return deserializeError({ name: thrown.name, message: thrown.message, ...(thrown.stack ? { stack: thrown.stack } : {}) });
  }
  return thrown;
}
