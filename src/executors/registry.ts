import { ExecutorResolutionError, describeValue } from '../api/errors.js';
import { BUILTIN_EXECUTORS } from './builtins.js';
import type { DiffusionExecutorClass } from './executor.js';
import { assertExecutorClass, isClass, type ExecutorSpec } from './spec.js';

/** Loads an executor class on first use, so heavy backends cost nothing until chosen. */
export type ExecutorLoader = () => Promise<unknown>;

/** What `registerExecutor` knows of an executor before loading it. */
export interface ExecutorRegistration {
  /**
   * The custom config fields the executor reads, as its class's `configKeys`: given for a loader,
   * they let a config be checked for misspelt keys without loading the executor.
   */
  configKeys?: readonly string[];
}

interface Entry {
  /** The class once known: given, or loaded by `load`. */
  cls: DiffusionExecutorClass | null;
  load: ExecutorLoader | null;
  configKeys: readonly string[] | undefined;
}

// Seeded with the built-ins here, not by a module registering them on import: a bundler that
// trusts the package's `sideEffects` may drop an import kept only for its effect.
const registry = new Map<string, Entry>(BUILTIN_EXECUTORS.map((b) => [b.name, { cls: null, load: b.load, configKeys: b.configKeys }]));

/**
 * Registers an executor under a shorthand name. `classOrLoader` is the class itself or a
 * function returning (a promise of) the class or a module whose default export is the class;
 * a loader runs on first use, so an executor nobody picks is never loaded (nor bundled eagerly).
 */
export function registerExecutor(name: string, classOrLoader: DiffusionExecutorClass | ExecutorLoader, registration: ExecutorRegistration = {}): void {
  if (typeof name !== 'string' || !/^[A-Za-z][\w-]*$/.test(name)) {
    throw new TypeError(`registerExecutor: name ${describeValue(name)} must be a word (letters, digits, "-" or "_"), not a module specifier.`);
  }
  if (typeof classOrLoader !== 'function') {
    throw new TypeError(`registerExecutor("${name}"): expected a DiffusionExecutor subclass or a loader function, got ${describeValue(classOrLoader)}.`);
  }
  if (isClass(classOrLoader)) {
    assertExecutorClass(classOrLoader, `registerExecutor("${name}")`);
    registry.set(name, { cls: classOrLoader, load: null, configKeys: registration.configKeys ?? classOrLoader.configKeys });
  } else {
    registry.set(name, { cls: null, load: classOrLoader as ExecutorLoader, configKeys: registration.configKeys });
  }
}

/**
 * The custom config fields the executor `spec` reads, or undefined where that is not known
 * (a specifier, a loader registered without `configKeys`, a class that declares none).
 */
export function configKeysOf(spec: ExecutorSpec): readonly string[] | undefined {
  if (typeof spec === 'function') return Object.hasOwn(spec, 'configKeys') ? spec.configKeys : undefined;
  return registry.get(spec)?.configKeys;
}

/** Names accepted as `executorClass` shorthands. */
export function listExecutors(): string[] {
  return [...registry.keys()];
}

/** The executor class and the name the engine reports for it. */
export interface ResolvedExecutor {
  cls: DiffusionExecutorClass;
  name: string;
}

/** Turns an `ExecutorSpec` into a class: a class as is, a shorthand through the registry, anything else through `import()`. */
export async function resolveExecutor(spec: ExecutorSpec): Promise<ResolvedExecutor> {
  if (typeof spec === 'function') {
    assertExecutorClass(spec, 'executorClass');
    return { cls: spec, name: nameOfClass(spec) };
  }
  const entry = registry.get(spec);
  if (entry !== undefined) {
    if (entry.cls) return { cls: entry.cls, name: spec };
    let loaded: unknown;
    try {
      loaded = await entry.load!();
    } catch (cause) {
      throw new ExecutorResolutionError(spec, `Executor "${spec}" failed to load: ${messageOf(cause)}.`, { cause });
    }
    const cls = isClass(loaded) ? loaded : (loaded as { default?: unknown } | null)?.default;
    assertExecutorClass(cls, `executor "${spec}"`);
    // Later resolutions, and naming a class reference, need no second load.
    entry.cls = cls;
    return { cls, name: spec };
  }
  return { cls: await importSpecifier(spec), name: spec };
}

function nameOfClass(cls: DiffusionExecutorClass): string {
  for (const [name, entry] of registry) if (entry.cls === cls) return name;
  // A built-in passed as a class before its shorthand was ever resolved (its loader not yet run).
  if (Object.hasOwn(cls, 'shorthand') && typeof cls.shorthand === 'string') return cls.shorthand;
  return cls.name || 'anonymous';
}

async function importSpecifier(spec: string): Promise<DiffusionExecutorClass> {
  const hash = spec.lastIndexOf('#');
  const modulePart = hash === -1 ? spec : spec.slice(0, hash);
  const exportName = hash === -1 ? 'default' : spec.slice(hash + 1);
  const known = listExecutors().join(', ');
  if (modulePart.length === 0 || exportName.length === 0) {
    throw new ExecutorResolutionError(spec, `Executor specifier "${spec}" is malformed: use "<module>#<ExportName>", or one of the shorthands: ${known}.`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(/* @vite-ignore */ toImportable(modulePart))) as Record<string, unknown>;
  } catch (cause) {
    throw new ExecutorResolutionError(
      spec,
      `Executor "${spec}" is neither a known shorthand (${known}) nor a loadable module: import("${modulePart}") failed: ${messageOf(cause)}`,
      { cause },
    );
  }
  if (!(exportName in mod)) {
    const exports = Object.keys(mod).join(', ') || '(none)';
    throw new ExecutorResolutionError(
      spec,
      `Executor "${spec}": module "${modulePart}" has no export "${exportName}" (it exports: ${exports}). Known shorthands: ${known}.`,
    );
  }
  const cls = mod[exportName];
  assertExecutorClass(cls, `Executor "${spec}"`);
  return cls;
}

/** Relative specifiers are taken relative to the working directory (Node) or the page (browser), not to this file. */
function toImportable(modulePart: string): string {
  if (!modulePart.startsWith('./') && !modulePart.startsWith('../') && !modulePart.startsWith('/')) return modulePart;
  const base =
    typeof process !== 'undefined' && typeof process.cwd === 'function' && typeof window === 'undefined'
      ? `file://${process.cwd()}/`
      : globalThis.location?.href;
  return base ? new URL(modulePart, base).href : modulePart;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
