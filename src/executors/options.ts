import { ConfigValidationError } from '../api/errors.js';

/** Warnings already given: each once per process, so a server building a config per request does not flood its log. */
const warned = new Set<string>();

/** Levenshtein distance, for suggesting the key a typo meant. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The known key closest to `key` (case-insensitively), or null when none is plausibly meant. */
export function nearestKey(key: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

/**
 * Warns once per key about each key of `value` that is not in `known`, naming the nearest known
 * key: a typo in an option would otherwise be ignored without a word. `where` prefixes the key,
 * e.g. `DiffusionConfig` or `DiffusionConfig.http`; `whose` says whose options these are.
 */
export function warnUnknownKeys(where: string, value: object, known: ReadonlySet<string>, whose: string): void {
  for (const key of Object.keys(value)) {
    if (known.has(key)) continue;
    const message = `${where}.${key} is not an option of ${whose} and is ignored${suggestion(key, known)}`;
    if (warned.has(message)) continue;
    warned.add(message);
    console.warn(message);
  }
}

function suggestion(key: string, known: ReadonlySet<string>): string {
  const near = nearestKey(key, known);
  return near === null ? ` (known: ${[...known].sort().join(', ')}).` : `; did you mean ${near}?`;
}

/** An option block (`http`, `onnx`): absent is `{}`; anything but a plain object is a `ConfigValidationError`. */
export function optionBlock(field: string, value: unknown, example: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigValidationError(field, value, `an object like ${example}`);
  return value as Record<string, unknown>;
}

/** An option that takes one of `values`; absent gives `fallback`. */
export function oneOf<V extends string>(field: string, value: unknown, values: readonly V[], fallback: V): V {
  if (value === undefined) return fallback;
  if (values.includes(value as V)) return value as V;
  throw new ConfigValidationError(field, value, values.map((v) => `'${v}'`).join(' or '));
}

/** An optional string option; absent or null gives null. */
export function optionalString(field: string, value: unknown, expected = 'a string'): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ConfigValidationError(field, value, expected);
  return value;
}

/** An optional boolean option; absent gives `undefined`. */
export function optionalBoolean(field: string, value: unknown, expected = 'true or false'): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw new ConfigValidationError(field, value, expected);
}
