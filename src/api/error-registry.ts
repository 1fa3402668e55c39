/**
 * The registry of the library's error classes, by their stable `code` and `name`, so that an
 * error serialised on one side of a worker boundary is rebuilt into the same class on the other
 * (`deserializeError`). Each class registers itself in a static block, next to its definition.
 */

/**
 * Marks the prototype of every registered class. `Symbol.for`, so two copies of the library in
 * one page (two bundles) still recognise each other's errors.
 */
export const ERROR_BRAND = Symbol.for('omni-diffusion.error');

/** Any error class, whatever its constructor takes (rebuilding never calls it). */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** What a class was registered with. */
interface Registration {
  readonly name: string;
  readonly code: string;
}

const byClass = new WeakMap<ErrorClass, Registration>();
const byCode = new Map<string, ErrorClass>();
const byName = new Map<string, ErrorClass>();

/**
 * Registers `cls` under `name` and `code`: its prototype gets `name` and `code` (so both survive
 * an app's minifier, which renames classes) and the brand that makes it an `OmniDiffusionError`
 * for `instanceof`, also when it extends `TypeError`. A code is one class's for good; a second
 * class asking for it is a programming mistake (`TypeError`).
 */
export function registerErrorClass(cls: ErrorClass, name: string, code: string): void {
  const owner = byCode.get(code);
  if (owner !== undefined && owner !== cls) throw new TypeError(`Error code "${code}" is already registered for ${byClass.get(owner)?.name}; give ${name} its own code.`);
  Object.defineProperties(cls.prototype, {
    name: { value: name, writable: true, configurable: true, enumerable: false },
    code: { value: code, writable: false, configurable: true, enumerable: false },
    [ERROR_BRAND]: { value: true, writable: false, configurable: true, enumerable: false },
  });
  byClass.set(cls, { name, code });
  byCode.set(code, cls);
  byName.set(name, cls);
}

/** The name `cls` was registered under; its own `name` (which a minifier may have changed) when it was not. */
export function registeredName(cls: ErrorClass): string {
  return byClass.get(cls)?.name ?? cls.name;
}

/** The registered class for a serialised error: by `code` first, then by `name` (records from a host that sends only comlink's name and message). */
export function errorClassFor(code: string | undefined, name: string): ErrorClass | undefined {
  return (code !== undefined ? byCode.get(code) : undefined) ?? byName.get(name);
}

/** Every registered code, with its class's name, for documentation and tests. */
export function registeredErrorCodes(): ReadonlyMap<string, string> {
  return new Map([...byCode].map(([code, cls]) => [code, byClass.get(cls)!.name]));
}
