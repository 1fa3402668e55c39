import { ConfigValidationError, describeValue } from '../api/errors.js';
import { DiffusionExecutor, type DiffusionExecutorClass } from './executor.js';

/** A shorthand (`webgpu`, `http`, ...), a `"module#Export"` specifier, or an executor class. */
export type ExecutorSpec = string | DiffusionExecutorClass;

/** True when `value` is a class (as opposed to a plain or arrow function). */
export function isClass(value: unknown): value is abstract new (...args: never[]) => unknown {
  if (typeof value !== 'function') return false;
  if (value.prototype instanceof DiffusionExecutor || value === DiffusionExecutor) return true;
  return /^class[\s{]/.test(Function.prototype.toString.call(value));
}

/** Throws unless `cls` is a concrete subclass of `DiffusionExecutor`. */
export function assertExecutorClass(cls: unknown, where: string): asserts cls is DiffusionExecutorClass {
  if (!isClass(cls)) {
    throw new TypeError(`${where} resolved to ${describeValue(cls)}, which is not a class; expected a DiffusionExecutor subclass.`);
  }
  if (!(cls.prototype instanceof DiffusionExecutor)) {
    throw new TypeError(`${where} resolved to class ${cls.name || '(anonymous)'}, which is not a DiffusionExecutor subclass.`);
  }
}

/**
 * Synchronous part of executor validation, run by `new DiffusionConfig`: the type, and for
 * class references the subclass check. Strings are resolved later, by `DiffusionEngine.create`.
 */
export function checkExecutorSpec(field: string, spec: unknown): ExecutorSpec {
  if (typeof spec === 'string') {
    if (spec.trim().length === 0) throw new ConfigValidationError(field, spec, 'an executor shorthand, a "module#Export" specifier or a class');
    return spec;
  }
  if (typeof spec === 'function') {
    assertExecutorClass(spec, `DiffusionConfig.${field}`);
    return spec;
  }
  throw new ConfigValidationError(field, spec, 'an executor shorthand, a "module#Export" specifier or a DiffusionExecutor subclass');
}
