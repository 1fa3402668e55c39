import { FixtureError } from '../errors.js';
import { parseLenientJson, type JsonValue } from '../json.js';
import type { ModelSource } from '../sources/model-source.js';
import type { RecipeDType, RecipeTensorSpec } from './recipe.js';

const DTYPES: readonly RecipeDType[] = ['F32', 'I64'];

/**
 * Parses a recipe's `tensors.json`: the state dict in order, `[{"name", "shape", "dtype"}, ...]`.
 * Every fault is a `FixtureError` naming `file` and the entry's field (`[3].shape`): a name that
 * is empty or repeated, a shape that is not a list of non-negative integers, a dtype other than
 * `F32` or `I64` (the only ones the recipe defines), or a tensor too large to address.
 */
export function parseRecipeTensorList(text: string, file: string): RecipeTensorSpec[] {
  const json = parseLenientJson(text, file);
  if (!Array.isArray(json)) throw new FixtureError(file, null, 'expected a list of {"name", "shape", "dtype"} entries');
  const seen = new Set<string>();
  return json.map((entry, i) => {
    const spec = checkEntry(entry, i, file);
    if (seen.has(spec.name)) throw new FixtureError(file, `[${i}].name`, `"${spec.name}" is listed twice`);
    seen.add(spec.name);
    return spec;
  });
}

/** Reads and parses `path` (a `tensors.json`) from `source`; a file that cannot be read is a `FixtureError` too. */
export async function readRecipeTensorList(source: ModelSource, path: string, file = `${source.id}/${path}`): Promise<RecipeTensorSpec[]> {
  let text: string;
  try {
    text = await source.readText(path);
  } catch (cause) {
    throw new FixtureError(file, null, `cannot read the recipe's tensor list: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  return parseRecipeTensorList(text, file);
}

function checkEntry(entry: JsonValue, i: number, file: string): RecipeTensorSpec {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new FixtureError(file, `[${i}]`, 'expected an object {"name", "shape", "dtype"}');
  const { name, shape, dtype } = entry;
  if (typeof name !== 'string' || name.length === 0) throw new FixtureError(file, `[${i}].name`, `expected a non-empty string, found ${show(name)}`);
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new FixtureError(file, `[${i}].shape`, `"${name}": expected a list of non-negative integers, found ${show(shape)}`);
  }
  if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) {
    throw new FixtureError(file, `[${i}].dtype`, `"${name}": expected one of ${DTYPES.join(', ')} (the recipe's dtypes), found ${show(dtype)}`);
  }
  const dims = shape as number[];
  // Bytes must stay exact in a double: 2^53 is far beyond any model, so this only stops garbage.
  if (dims.reduce((n, d) => n * d, 8) > Number.MAX_SAFE_INTEGER) throw new FixtureError(file, `[${i}].shape`, `"${name}": [${dims.join(', ')}] is too large`);
  return { name, shape: dims, dtype: dtype as RecipeDType };
}

function show(value: JsonValue | undefined): string {
  return value === undefined ? 'nothing' : (JSON.stringify(value)?.slice(0, 60) ?? String(value));
}
