import type { JsonObject } from './diffusers-repo.js';
import { FixtureError } from './errors.js';
import { Fields } from './fixture-fields.js';
import { componentWeights, pipelineWeights, recipeSource, type FixtureRecipeEntry, type FixtureRecipeFile } from './fixture-recipe.js';
import { parseLenientJson } from './json.js';
import { readSafetensors } from './safetensors.js';
import { LocalFolderSource } from './sources/local-folder-source.js';
import type { ModelSource } from './sources/model-source.js';

/** What a fixture checks; runners dispatch on it, never on directory names. */
export type FixtureKind = 'unet' | 'vae_decoder' | 'vae_encoder' | 'taesd_decoder' | 'text_encoder' | 'tokenizer' | 'scheduler' | 'pipeline';

const KINDS: readonly FixtureKind[] = ['unet', 'vae_decoder', 'vae_encoder', 'taesd_decoder', 'text_encoder', 'tokenizer', 'scheduler', 'pipeline'];

/** Pass bounds: `max|a-b| <= maxAbs` and `||a-b||/||b|| <= maxRelL2`. */
export interface Tolerance {
  maxAbs: number;
  maxRelL2: number;
}

/** A tensor of `io.safetensors`: floats as Float32Array, token ids as Int32Array. */
export interface FixtureTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

interface FixtureBase {
  /** The fixture description file (for errors). */
  file: string;
  description: string;
  /**
   * Files named by the fixture are read through this: the fixture's directory, or, when its
   * `weights` are the synthetic recipe form, a `RecipeSource` over it that also serves the
   * weights files, generated on the fly.
   */
  source: ModelSource;
  /** The parsed JSON, for fields this reader does not type. */
  raw: JsonObject;
}

interface WithIo {
  inputs: string[];
  outputs: string[];
  /** Reads `io.safetensors`, checking that every input and output is there. */
  readIo(): Promise<Map<string, FixtureTensor>>;
}

/** `unet`, `vae_decoder`, `vae_encoder`, `taesd_decoder`, `text_encoder`. */
export interface ComponentFixture extends FixtureBase, WithIo {
  kind: 'unet' | 'vae_decoder' | 'vae_encoder' | 'taesd_decoder' | 'text_encoder';
  /** `component_config`: the same object as `config.json`. */
  config: JsonObject;
  tolerance: Tolerance;
  /** Weights file, relative to the fixture (for synthetic weights: the recipe's `file`, served by `source`). */
  weights: string;
  /** The recipe's weights file when `weights` is the synthetic recipe form (one entry), else null. */
  synthetic: FixtureRecipeFile[] | null;
  /** The float16 weights and their bound, when the fixture has them. */
  weightsFp16: string | null;
  toleranceFp16: Tolerance | null;
  /** UNet: `[timestep input, output]` pairs, one call each. Empty for other kinds. */
  ioPairs: [string, string][];
  /** text_encoder: the pad id the inputs use; null for other kinds. */
  padTokenIdUsed: number | null;
}

/** One tokenizer case: the prompt and the ids every tokenizer must reproduce. */
export interface TokenizerCase {
  prompt: string;
  ids: number[];
  inputIdsSd1: number[];
  inputIdsSd2: number[];
}

export interface TokenizerFixture extends FixtureBase {
  kind: 'tokenizer';
  casesFile: string;
  numCases: number;
  readCases(): Promise<TokenizerCase[]>;
}

/** One scheduler step of a case trajectory. */
export interface SchedulerStep {
  t: number;
  scaledInput: Float32Array;
  modelOutput: Float32Array;
  /** The noise tensors `step` drew, in order (empty for deterministic steps). */
  noise: Float32Array[];
  prevSample: Float32Array;
  predOriginalSample: Float32Array | null;
}

export interface SchedulerFixture extends FixtureBase {
  kind: 'scheduler';
  /** The diffusers class name. */
  scheduler: string;
  config: JsonObject;
  numInferenceSteps: number;
  timesteps: number[];
  sigmas: number[] | null;
  initNoiseSigma: number;
  shape: number[];
  initialSample: Float32Array;
  trajectory: SchedulerStep[];
  tolerance: Tolerance & { timestepsMaxAbs: number };
}

export interface PipelineFixture extends FixtureBase, WithIo {
  kind: 'pipeline';
  modelIndex: JsonObject;
  prompt: string;
  negativePrompt: string | null;
  guidanceScale: number;
  numInferenceSteps: number;
  height: number;
  width: number;
  numImages: number;
  timesteps: number[];
  scheduler: string;
  initNoiseSigma: number;
  /** `latentsMaxAbs`/`latentsMaxRelL2` apply to latents and UNet outputs; the rest to embeddings and the image. */
  tolerance: Tolerance & { latentsMaxAbs: number; latentsMaxRelL2: number };
  componentsAlsoFixtures: Record<string, string>;
  /** The ONNX export's description (`*-onnx` fixtures), else null. */
  onnx: JsonObject | null;
  /** The recipe's weights files, one per component, when `weights` is the synthetic recipe form; else null. */
  synthetic: FixtureRecipeFile[] | null;
}

export type Fixture = ComponentFixture | TokenizerFixture | SchedulerFixture | PipelineFixture;

/**
 * Loads a fixture from disk (Node): a fixture directory (with `fixture.json`) or a scheduler
 * case file (`schedulers/<case>.json`). Malformed fields raise `FixtureError` naming file and field;
 * so do a synthetic recipe other than `omni-synthetic-v1` and a malformed `tensors.json`.
 */
export async function loadFixture(path: string): Promise<Fixture> {
  const trimmed = path.replace(/[\\/]+$/, '');
  if (trimmed.endsWith('.json')) {
    const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
    return loadFixtureFrom(new LocalFolderSource(cut < 0 ? '.' : trimmed.slice(0, cut)), trimmed.slice(cut + 1));
  }
  return loadFixtureFrom(new LocalFolderSource(trimmed), 'fixture.json');
}

/** Loads a fixture through any model source (e.g. fixtures served over HTTP to a browser test). */
export async function loadFixtureFrom(source: ModelSource, file = 'fixture.json'): Promise<Fixture> {
  const name = `${source.id}/${file}`;
  let text: string;
  try {
    text = await source.readText(file);
  } catch (cause) {
    throw new FixtureError(name, null, `cannot read the fixture: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const json = parseLenientJson(text, name);
  const f = new Fields(name, json);
  const kind = f.has('kind') ? f.oneOf('kind', KINDS) : f.has('scheduler') ? 'scheduler' : f.oneOf('kind', KINDS);
  const base = { file: name, description: f.optionalString('description') ?? '', source, raw: f.obj };
  switch (kind) {
    case 'unet':
    case 'vae_decoder':
    case 'vae_encoder':
    case 'taesd_decoder':
    case 'text_encoder': {
      const { file, recipe } = componentWeights(f);
      return componentFixture(kind, await withRecipe(base, recipe), f, file);
    }
    case 'tokenizer':
      return tokenizerFixture(base, f);
    case 'scheduler':
      return schedulerFixture(base, f);
    case 'pipeline':
      return pipelineFixture(await withRecipe(base, pipelineWeights(f)), f);
  }
}

/** The base fields, reading through a `RecipeSource` when the weights are the synthetic recipe form. */
async function withRecipe(base: Base, recipe: readonly FixtureRecipeEntry[] | null): Promise<Base & { synthetic: FixtureRecipeFile[] | null }> {
  if (!recipe) return { ...base, synthetic: null };
  const { source, files } = await recipeSource(base.source, recipe);
  return { ...base, source, synthetic: files };
}

/**
 * Every fixture under `root` (Node): each directory with a `fixture.json`, and each `*.json`
 * case file in a directory without one (the scheduler cases). Sorted paths.
 */
export async function findFixtures(root: string): Promise<string[]> {
  const fs = await import('node:fs/promises');
  const found: string[] = [];
  for (const entry of await fs.readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = `${root}/${entry.name}`;
    const files = await fs.readdir(dir);
    if (files.includes('fixture.json')) found.push(dir);
    else found.push(...files.filter((n) => n.endsWith('.json')).map((n) => `${dir}/${n}`));
  }
  return found.sort();
}

type Base = Pick<FixtureBase, 'file' | 'description' | 'source' | 'raw'>;

function componentFixture(kind: ComponentFixture['kind'], base: Base & Pick<ComponentFixture, 'synthetic'>, f: Fields, weights: string): ComponentFixture {
  const weightsFp16 = f.optionalString('weights_fp16');
  return {
    ...base,
    kind,
    config: f.object('component_config'),
    ...ioFields(base, f),
    tolerance: tolerance(f, 'tolerance'),
    weights,
    weightsFp16,
    toleranceFp16: weightsFp16 === null ? null : tolerance(f, 'tolerance_fp16'),
    ioPairs: kind === 'unet' ? ioPairs(f) : [],
    padTokenIdUsed: kind === 'text_encoder' && f.has('pad_token_id_used') ? f.integer('pad_token_id_used') : null,
  };
}

function ioPairs(f: Fields): [string, string][] {
  const pairs = f.array('io_pairs');
  const inputs = f.stringArray('inputs');
  const outputs = f.stringArray('outputs');
  return pairs.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw new FixtureError(f.file, `io_pairs[${i}]`, 'expected [timestep name, output name]');
    }
    if (!inputs.includes(pair[0])) throw new FixtureError(f.file, `io_pairs[${i}]`, `"${pair[0]}" is not among the inputs`);
    if (!outputs.includes(pair[1])) throw new FixtureError(f.file, `io_pairs[${i}]`, `"${pair[1]}" is not among the outputs`);
    return [pair[0], pair[1]];
  });
}

function tokenizerFixture(base: Base, f: Fields): TokenizerFixture {
  const casesFile = f.string('cases_file');
  const numCases = f.integer('num_cases');
  return {
    ...base,
    kind: 'tokenizer',
    casesFile,
    numCases,
    async readCases() {
      const name = `${base.source.id}/${casesFile}`;
      const parsed = parseLenientJson(await base.source.readText(casesFile), name);
      // The cases file is `{"kind", "description", "cases": [...]}`; a bare list is accepted too.
      const json = Array.isArray(parsed) ? parsed : new Fields(name, parsed).array('cases');
      if (json.length !== numCases) throw new FixtureError(base.file, 'num_cases', `says ${numCases}, but ${casesFile} holds ${json.length} cases`);
      return json.map((c, i) => {
        const cf = new Fields(name, c, `cases[${i}].`);
        return { prompt: cf.string('prompt'), ids: cf.numberArray('ids'), inputIdsSd1: cf.numberArray('input_ids_sd1'), inputIdsSd2: cf.numberArray('input_ids_sd2') };
      });
    },
  };
}

function schedulerFixture(base: Base, f: Fields): SchedulerFixture {
  const shape = f.numberArray('shape');
  const size = shape.reduce((n, d) => n * d, 1);
  const flat = (sf: Fields, field: string) => {
    const values = sf.numberArray(field);
    if (values.length !== size) throw new FixtureError(sf.file, sf.prefix + field, `has ${values.length} values, but shape [${shape.join(', ')}] needs ${size}`);
    return Float32Array.from(values);
  };
  const trajectory = f.array('trajectory').map((step, i) => {
    const sf = new Fields(f.file, step, `trajectory[${i}].`);
    return {
      t: sf.number('t'),
      scaledInput: flat(sf, 'scaled_input'),
      modelOutput: flat(sf, 'model_output'),
      noise: sf.array('noise').map((_, j) => Float32Array.from(checkNoise(sf, j, size))),
      prevSample: flat(sf, 'prev_sample'),
      predOriginalSample: sf.obj.pred_original_sample === null ? null : flat(sf, 'pred_original_sample'),
    };
  });
  const timesteps = f.numberArray('timesteps');
  if (trajectory.length !== timesteps.length) {
    throw new FixtureError(f.file, 'trajectory', `has ${trajectory.length} steps, but "timesteps" has ${timesteps.length}`);
  }
  return {
    ...base,
    kind: 'scheduler',
    scheduler: f.string('scheduler'),
    config: f.object('config'),
    numInferenceSteps: f.integer('num_inference_steps'),
    timesteps,
    sigmas: f.obj.sigmas === null ? null : f.numberArray('sigmas'),
    initNoiseSigma: f.number('init_noise_sigma'),
    shape,
    initialSample: flat(f, 'initial_sample'),
    trajectory,
    tolerance: { ...tolerance(f, 'tolerance'), timestepsMaxAbs: new Fields(f.file, f.object('tolerance'), 'tolerance.').number('timesteps_max_abs') },
  };
}

function checkNoise(sf: Fields, j: number, size: number): number[] {
  const list = sf.array('noise')[j];
  const field = `${sf.prefix}noise[${j}]`;
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'number')) throw new FixtureError(sf.file, field, 'expected a list of numbers');
  if (list.length !== size) throw new FixtureError(sf.file, field, `has ${list.length} values, expected ${size}`);
  return list as number[];
}

function pipelineFixture(base: Base & Pick<PipelineFixture, 'synthetic'>, f: Fields): PipelineFixture {
  const tol = new Fields(f.file, f.object('tolerance'), 'tolerance.');
  const negative = f.obj.negative_prompt;
  const also = f.has('components_also_fixtures') ? f.object('components_also_fixtures') : {};
  return {
    ...base,
    kind: 'pipeline',
    modelIndex: new Fields(f.file, f.object('component_config'), 'component_config.').object('model_index'),
    ...ioFields(base, f),
    prompt: f.string('prompt'),
    negativePrompt: negative === null || negative === undefined ? null : f.string('negative_prompt'),
    guidanceScale: f.number('guidance_scale'),
    numInferenceSteps: f.integer('num_inference_steps'),
    height: f.integer('height'),
    width: f.integer('width'),
    numImages: f.integer('num_images'),
    timesteps: f.numberArray('timesteps'),
    scheduler: f.string('scheduler'),
    initNoiseSigma: f.number('init_noise_sigma'),
    tolerance: {
      ...tolerance(f, 'tolerance'),
      latentsMaxAbs: tol.number('latents_max_abs'),
      latentsMaxRelL2: tol.number('latents_max_rel_l2'),
    },
    componentsAlsoFixtures: Object.fromEntries(Object.keys(also).map((k) => [k, new Fields(f.file, also, 'components_also_fixtures.').string(k)])),
    onnx: f.has('onnx') ? f.object('onnx') : null,
  };
}

function ioFields(base: Base, f: Fields): WithIo {
  const inputs = f.stringArray('inputs');
  const outputs = f.stringArray('outputs');
  return {
    inputs,
    outputs,
    async readIo() {
      const file = `${base.source.id}/io.safetensors`;
      const tensors = await readSafetensors(await base.source.fetchFile('io.safetensors'), { file });
      const out = new Map<string, FixtureTensor>();
      for (const [name, t] of tensors) {
        if (t.data instanceof Float32Array || t.data instanceof Int32Array) out.set(name, { shape: t.shape, data: t.data });
        else throw new FixtureError(file, name, `tensor has dtype ${t.dtype} with values outside int32; fixtures hold floats and token ids`);
      }
      for (const name of [...inputs, ...outputs]) {
        if (!out.has(name)) throw new FixtureError(base.file, inputs.includes(name) ? 'inputs' : 'outputs', `names "${name}", which io.safetensors lacks`);
      }
      return out;
    },
  };
}

function tolerance(f: Fields, field: string): Tolerance {
  const t = new Fields(f.file, f.object(field), `${field}.`);
  return { maxAbs: t.number('max_abs'), maxRelL2: t.number('max_rel_l2') };
}
