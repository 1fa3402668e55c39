import { describeValue } from '../api/errors.js';

/** How much of a value `boundedEcho` keeps. */
export interface EchoLimits {
  /** Containers nested deeper than this are summarised (`array(3)`, `[object]`). */
  maxDepth: number;
  /** Items of an array, or keys of an object, kept per container; the rest are counted. */
  maxItems: number;
  /** Characters kept of a string (and of a key); the rest are counted. */
  maxStringLength: number;
}

/** Enough to recognise the value in an error, at most a few KiB whatever was sent. */
const DEFAULT_ECHO_LIMITS: Readonly<EchoLimits> = { maxDepth: 2, maxItems: 5, maxStringLength: 100 };

/**
 * A JSON-safe copy of `value` small enough to put in an error response: strings cut to
 * `maxStringLength` (with how much was cut), at most `maxItems` per array or object, containers
 * below `maxDepth` summarised, cycles marked `[Circular]`, and values JSON cannot hold
 * (bigint, functions, symbols) described. It recurses at most `maxDepth` levels, so a body
 * nested 10,000 levels deep costs no more than a flat one, and it never throws: a value that
 * cannot be read (a throwing getter or proxy) becomes `[unreadable]`.
 */
export function boundedEcho(value: unknown, limits: EchoLimits = DEFAULT_ECHO_LIMITS): unknown {
  return echo(value, limits, 0, new Set());
}

function echo(value: unknown, limits: EchoLimits, depth: number, ancestors: Set<object>): unknown {
  try {
    if (typeof value === 'string') return clip(value, limits.maxStringLength);
    if (value === null || typeof value === 'boolean') return value;
    if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
    if (typeof value !== 'object') return describeValue(value);
    if (ancestors.has(value)) return '[Circular]';
    if (depth >= limits.maxDepth) return describeValue(value);
    ancestors.add(value);
    try {
      if (Array.isArray(value)) {
        const kept: unknown[] = value.slice(0, limits.maxItems).map((item: unknown) => echo(item, limits, depth + 1, ancestors));
        if (value.length > limits.maxItems) kept.push(`... (${value.length - limits.maxItems} more items)`);
        return kept;
      }
      const keys = Object.keys(value);
      // Entries, not assignment: a `__proto__` key must stay a key, not set the copy's prototype.
      const kept: Array<[string, unknown]> = keys
        .slice(0, limits.maxItems)
        .map((key) => [clip(key, limits.maxStringLength), echoProperty(value as Record<string, unknown>, key, limits, depth + 1, ancestors)]);
      if (keys.length > limits.maxItems) kept.push(['...', `${keys.length - limits.maxItems} more keys`]);
      return Object.fromEntries(kept);
    } finally {
      ancestors.delete(value);
    }
  } catch {
    return '[unreadable]';
  }
}

/** One property, read where its getter may throw without losing its siblings. */
function echoProperty(object: Record<string, unknown>, key: string, limits: EchoLimits, depth: number, ancestors: Set<object>): unknown {
  let value: unknown;
  try {
    value = object[key];
  } catch {
    return '[unreadable]';
  }
  return echo(value, limits, depth, ancestors);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}... (${text.length - max} more characters)` : text;
}
