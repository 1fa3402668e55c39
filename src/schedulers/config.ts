import type { JsonValue } from '../io/json.js';
import { SchedulerConfigError } from './errors.js';

/** A `scheduler_config.json` object as parsed (snake_case keys). */
export type RawSchedulerConfig = Readonly<Record<string, JsonValue | undefined>>;

/** Receives the warnings a config produces (unknown fields). Defaults to `console.warn`. */
export interface SchedulerLogger {
  warn(message: string): void;
}

const warnedByLogger = new WeakMap<SchedulerLogger, Set<string>>();
const consoleLogger: SchedulerLogger = { warn: (message) => console.warn(message) };

/**
 * Reads a config against a class's defaults (its diffusers `__init__` signature): keys starting
 * with `_` are metadata; other keys the class does not know are ignored with one warning per
 * logger, class and field, as real repos carry keys of the scheduler they were saved from.
 */
export class SchedulerConfigReader {
  /** The resolved config: defaults overlaid with the known fields of the input. */
  readonly values: Record<string, JsonValue>;

  constructor(
    readonly className: string,
    raw: RawSchedulerConfig,
    defaults: Readonly<Record<string, JsonValue>>,
    logger: SchedulerLogger = consoleLogger,
  ) {
    this.values = { ...defaults };
    let warned = warnedByLogger.get(logger);
    if (!warned) warnedByLogger.set(logger, (warned = new Set()));
    for (const [key, value] of Object.entries(raw)) {
      if (key.startsWith('_') || value === undefined) continue;
      if (!Object.hasOwn(defaults, key)) {
        const tag = `${className}.${key}`;
        if (!warned.has(tag)) {
          warned.add(tag);
          logger.warn(`${className}: config field "${key}" is not used by this scheduler and is ignored.`);
        }
        continue;
      }
      this.values[key] = value;
    }
  }

  private fail(key: string, expected: string): never {
    throw new SchedulerConfigError(this.className, key, this.values[key], expected);
  }

  number(key: string, check: { integer?: boolean; min?: number; max?: number; positive?: boolean } = {}): number {
    const v = this.values[key];
    if (typeof v !== 'number' || Number.isNaN(v)) return this.fail(key, 'a number');
    if (check.integer && !Number.isInteger(v)) return this.fail(key, 'an integer');
    if (check.min !== undefined && v < check.min) return this.fail(key, `a number >= ${check.min}`);
    if (check.max !== undefined && v > check.max) return this.fail(key, `a number <= ${check.max}`);
    if (check.positive && !(v > 0)) return this.fail(key, 'a positive number');
    return v;
  }

  /** A number, or null (absent values default to null too). */
  optionalNumber(key: string): number | null {
    const v = this.values[key];
    if (v === null || v === undefined) return null;
    return this.number(key);
  }

  boolean(key: string): boolean {
    const v = this.values[key];
    if (typeof v !== 'boolean') return this.fail(key, 'true or false');
    return v;
  }

  /** One of `allowed`. `aliases` maps values diffusers accepts and rewrites (e.g. `deis` → `dpmsolver++`). */
  choice<E extends string>(key: string, allowed: readonly E[], aliases: Readonly<Record<string, E>> = {}): E {
    const v = this.values[key];
    if (typeof v === 'string') {
      if ((allowed as readonly string[]).includes(v)) return v as E;
      const alias = aliases[v];
      if (alias !== undefined) return alias;
    }
    return this.fail(key, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  }

  /** A list of numbers, or null. */
  optionalNumbers(key: string): number[] | null {
    const v = this.values[key];
    if (v === null || v === undefined) return null;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) return this.fail(key, 'a list of numbers or null');
    return v as number[];
  }
}
