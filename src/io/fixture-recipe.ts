import { FixtureError } from './errors.js';
import { Fields } from './fixture-fields.js';
import { normalizeModelPath, type ModelSource } from './sources/model-source.js';
import { SYNTHETIC_RECIPE } from './synthetic/recipe.js';
import { RecipeSource, type RecipeWeightsFile } from './synthetic/recipe-source.js';
import { readRecipeTensorList } from './synthetic/tensor-list.js';

/** One weights file of a fixture whose `weights` field is the recipe form (see the fixtures' SYNTHETIC.md). */
export interface FixtureRecipeFile extends RecipeWeightsFile {
  /** The pipeline component it belongs to (`unet`, …); null in a component fixture. */
  component: string | null;
  /** Its `tensors.json`, relative to the fixture. */
  tensorsFile: string;
}

/** A recipe file as the `weights` field states it, before its tensor list is read. */
export type FixtureRecipeEntry = Omit<FixtureRecipeFile, 'tensors'>;

/**
 * The `weights` field of a component fixture: a file name (the plain form, returned as
 * `{ file, recipe: null }`) or `{"recipe", "seed", "tensors", "file"}`. Malformed fields and
 * unknown recipes are `FixtureError`s naming the field.
 */
export function componentWeights(f: Fields): { file: string; recipe: FixtureRecipeEntry[] | null } {
  const value = f.obj.weights;
  if (typeof value === 'string' || value === undefined) return { file: f.string('weights'), recipe: null };
  const w = recipeFields(f, 'weights');
  const entry = recipeEntry(w, null);
  return { file: entry.path, recipe: [entry] };
}

/**
 * The `weights` field of a pipeline fixture: absent in the plain form (null), or
 * `{"recipe", "components": {name: {"seed", "tensors", "file"}}}`.
 */
export function pipelineWeights(f: Fields): FixtureRecipeEntry[] | null {
  if (!f.has('weights')) return null;
  const w = recipeFields(f, 'weights');
  const components = w.object('components');
  const entries = Object.keys(components).map((name) => recipeEntry(new Fields(f.file, components[name], `weights.components.${name}.`), name));
  if (entries.length === 0) throw new FixtureError(f.file, 'weights.components', 'names no component');
  const seen = new Map<string, string>();
  for (const e of entries) {
    const other = seen.get(e.path);
    if (other !== undefined) throw new FixtureError(f.file, `weights.components.${e.component}.file`, `"${e.path}" is also the file of "${other}"`);
    seen.set(e.path, e.component!);
  }
  return entries;
}

/**
 * Reads every entry's `tensors.json` (validated: see `parseRecipeTensorList`) and returns the
 * source the fixture's files are read through: `source` itself, with the recipe's weights files
 * generated on the fly.
 */
export async function recipeSource(source: ModelSource, entries: readonly FixtureRecipeEntry[]): Promise<{ source: RecipeSource; files: FixtureRecipeFile[] }> {
  const files = await Promise.all(entries.map(async (e) => ({ ...e, tensors: await readRecipeTensorList(source, e.tensorsFile) })));
  return { source: new RecipeSource(source, files), files };
}

/** The object form of `weights`, with its recipe name checked. */
function recipeFields(f: Fields, field: string): Fields {
  const value = f.obj[field];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FixtureError(f.file, field, `expected a weights file name or {"recipe": "${SYNTHETIC_RECIPE}", ...}, found ${JSON.stringify(value)?.slice(0, 60)}`);
  }
  const w = new Fields(f.file, value, `${field}.`);
  const recipe = w.string('recipe');
  if (recipe !== SYNTHETIC_RECIPE) throw new FixtureError(f.file, `${field}.recipe`, `unknown weights recipe "${recipe}"; this library implements "${SYNTHETIC_RECIPE}" only`);
  return w;
}

/** `{"seed", "tensors", "file"}`, with the seed an unsigned 32-bit integer and both paths inside the fixture. */
function recipeEntry(w: Fields, component: string | null): FixtureRecipeEntry {
  const seed = w.integer('seed');
  if (seed < 0 || seed > 0xffffffff) throw new FixtureError(w.file, `${w.prefix}seed`, `expected an unsigned 32-bit integer, found ${seed}`);
  return { component, seed, tensorsFile: path(w, 'tensors'), path: path(w, 'file') };
}

function path(w: Fields, field: string): string {
  const value = w.string(field);
  try {
    return normalizeModelPath(value, w.file);
  } catch (cause) {
    throw new FixtureError(w.file, `${w.prefix}${field}`, `"${value}" is not a relative path inside the fixture`, { cause });
  }
}
